using System.Text.Json;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Api.Setup;

public static class RequestText
{
    /// <summary>
    /// Every text a request carries is text (<see cref="UnicodeText"/>): its path's values, its query's names and
    /// values, a JSON body's names and strings. A noncharacter or a lone surrogate in any of them is a 422 naming where
    /// it is, for every operation alike, before an endpoint reads the request (normalising a user name threw on one: a 500).
    /// </summary>
    public static IApplicationBuilder UseTextOnlyRequests(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var problem = InRoute(context) ?? InQuery(context.Request.Query) ?? await InBodyAsync(context.Request);
            if (problem is { } found)
            {
                await ErrorResponses.WriteAsync(context, StatusCodes.Status422UnprocessableEntity, ErrorCodes.ValidationFailed, "invalid text",
                    new[] { new FieldError(found.Field, "is not text: it holds " + found.Message) });
                return;
            }

            await next(context);
        });

    private static (string Field, string Message)? InRoute(HttpContext context)
    {
        foreach (var (name, value) in context.Request.RouteValues)
        {
            if (value is string text && UnicodeText.Problem(text) is { } problem) return (name, problem);
        }

        return UnicodeText.Problem(context.Request.Path.Value ?? "") is { } inPath ? ("path", inPath) : null;
    }

    private static (string Field, string Message)? InQuery(IQueryCollection query)
    {
        foreach (var (name, values) in query)
        {
            if (UnicodeText.Problem(name) is { } inName) return ("query", "a parameter name with " + inName);
            foreach (var value in values)
            {
                if (value is not null && UnicodeText.Problem(value) is { } problem) return (name, problem);
            }
        }

        return null;
    }

    /// <summary>A JSON body, read once and kept for the endpoint; one that is not JSON is left to the endpoint to refuse.</summary>
    private static async Task<(string Field, string Message)?> InBodyAsync(HttpRequest request)
    {
        if (!request.HasJsonContentType() || request.ContentLength == 0) return null;
        request.EnableBuffering();
        using var copy = new MemoryStream();
        await request.Body.CopyToAsync(copy, request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        try
        {
            return InJson(copy.GetBuffer().AsSpan(0, (int)copy.Length));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed class Level(bool array)
    {
        public bool Array { get; } = array;
        public int Index { get; set; } = -1;
        public string? Name { get; set; }
    }

    private static (string Field, string Message)? InJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        var levels = new List<Level>();
        while (reader.Read())
        {
            var top = levels.Count > 0 ? levels[^1] : null;
            if (top is { Array: true } && reader.TokenType is not (JsonTokenType.EndArray or JsonTokenType.EndObject)) top.Index++;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    levels.Add(new Level(reader.TokenType == JsonTokenType.StartArray));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    levels.RemoveAt(levels.Count - 1);
                    break;
                case JsonTokenType.PropertyName:
                    top!.Name = null;
                    if (Text(ref reader) is not { } name) return (Field(levels), "a name with " + UnicodeText.LoneSurrogate);
                    if (UnicodeText.Problem(name) is { } inName) return (Field(levels), "a name with " + inName);
                    top.Name = name;
                    break;
                case JsonTokenType.String:
                    if ((Text(ref reader) is { } value ? UnicodeText.Problem(value) : UnicodeText.LoneSurrogate) is { } problem) return (Field(levels), problem);
                    break;
            }
        }

        return null;
    }

    /// <summary>The string, or null when its escapes make half a surrogate pair (which .NET text cannot hold here).</summary>
    private static string? Text(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Where the reader is, as the envelope names fields: <c>parameters.symbol</c>, <c>items[2]</c>; the body itself at the top.</summary>
    private static string Field(List<Level> levels)
    {
        var field = "";
        foreach (var level in levels)
        {
            if (level.Array && level.Index >= 0) field += $"[{level.Index}]";
            else if (!level.Array && level.Name is { } name) field += (field.Length == 0 ? "" : ".") + name;
        }

        return field.Length == 0 ? "body" : field;
    }
}
