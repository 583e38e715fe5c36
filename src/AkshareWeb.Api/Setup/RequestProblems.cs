using System.Text.Json;
using System.Text.RegularExpressions;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// The detail of an error the service did not foresee as a validation rule: the field it concerns (as clients
/// spell it), when one is known, and the trace id that finds the full story in the log.
/// </summary>
public sealed record ErrorDetail(string? Field, string TraceId);

/// <summary>
/// Turns what the framework says about a request it could not bind into what a client can act on. The
/// framework's own wording names .NET types and its binding machinery (<c>could not be converted to
/// AkshareWeb…Command</c>, <c>Implicit body inferred…</c>, <c>Nullable&lt;int&gt; Page</c>); it goes to the log,
/// and the client reads a sentence, the field and the trace id.
/// </summary>
public static partial class RequestProblems
{
    public sealed record Answer(int Status, int Code, string Message, object? Detail);

    public static Answer Describe(BadHttpRequestException bad, string traceId)
    {
        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new(413, ErrorCodes.BadFormat, "the request body is too large", new ErrorDetail(null, traceId));
        }

        if (bad.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return new(415, ErrorCodes.BadFormat, "the request body must be JSON (Content-Type: application/json)", new ErrorDetail(null, traceId));
        }

        if (bad.InnerException is JsonException json)
        {
            return Describe(json, traceId);
        }

        if (BindFailure().Match(bad.Message) is { Success: true } bind)
        {
            var field = JsonNamingPolicy.SnakeCaseLower.ConvertName(bind.Groups["name"].Value);
            return new(400, ErrorCodes.BadFormat, $"{field} {Expected(bind.Groups["type"].Value)}", new ErrorDetail(field, traceId));
        }

        if (bad.Message.Contains("no body was provided", StringComparison.Ordinal) || bad.Message.Contains("from body", StringComparison.Ordinal))
        {
            return new(400, ErrorCodes.BadFormat, "this request needs a JSON object as its body", new ErrorDetail(null, traceId));
        }

        if (MissingParameter().Match(bad.Message) is { Success: true } missing)
        {
            var field = JsonNamingPolicy.SnakeCaseLower.ConvertName(missing.Groups["name"].Value);
            return new(400, ErrorCodes.BadFormat, $"{field} is required", new ErrorDetail(field, traceId));
        }

        return new(400, ErrorCodes.BadFormat, "the request could not be read", new ErrorDetail(null, traceId));
    }

    private static Answer Describe(JsonException json, string traceId)
    {
        // JSON paths are $, $.name, $.parameters.symbol, $['odd name'], $.items[0]: clients know them without the $.
        var field = json.Path is { Length: > 1 } path ? path.TrimStart('$').TrimStart('.') : null;

        // A string with half a surrogate pair (\ud800 alone) is valid JSON but not text; System.Text.Json refuses to
        // read it as a string. It is the value that is wrong, not the shape: a 422 naming the field.
        if (json.InnerException is InvalidOperationException { Message: var inner } && (inner.Contains("UTF-16", StringComparison.Ordinal) || inner.Contains("surrogate", StringComparison.OrdinalIgnoreCase)))
        {
            return new(422, ErrorCodes.ValidationFailed, "validation failed",
                new[] { new FieldError(field ?? "body", "is not valid text: it contains half of a UTF-16 surrogate pair (\\ud800-\\udfff alone)") });
        }

        if (json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return field is null
                ? new(400, ErrorCodes.BadFormat, "the request body must be a JSON object", new ErrorDetail(null, traceId))
                : new(400, ErrorCodes.BadFormat, $"{field} has the wrong type or is out of range for this field", new ErrorDetail(field, traceId));
        }

        var where = json.LineNumber is { } line && json.BytePositionInLine is { } column
            ? $" (line {line + 1}, position {column + 1})"
            : "";
        return new(400, ErrorCodes.BadFormat, $"the request body is not valid JSON{where}", new ErrorDetail(field, traceId));
    }

    private static string Expected(string typeName) =>
        typeName switch
        {
            _ when typeName.Contains("int", StringComparison.OrdinalIgnoreCase) || typeName.Contains("long", StringComparison.OrdinalIgnoreCase)
                => "must be a whole number",
            _ when typeName.Contains("bool", StringComparison.OrdinalIgnoreCase) => "must be true or false",
            _ when typeName.Contains("double", StringComparison.OrdinalIgnoreCase) || typeName.Contains("decimal", StringComparison.OrdinalIgnoreCase)
                => "must be a number",
            _ when typeName.Contains("Date", StringComparison.Ordinal) => "must be a date",
            _ => "has a value that cannot be read",
        };

    // Failed to bind parameter "Nullable<int> Page" from "abc".
    [GeneratedRegex("""^Failed to bind parameter "(?<type>.*?)\s*(?<name>\w+)" from""")]
    private static partial Regex BindFailure();

    // Required parameter "int userId" was not provided from route.
    [GeneratedRegex("""^Required parameter "(?<type>.*?)\s*(?<name>\w+)" was not provided""")]
    private static partial Regex MissingParameter();
}
