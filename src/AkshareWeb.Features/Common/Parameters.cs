using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AkshareWeb.Features.Common;

/// <summary>
/// One parameter of an AKShare function, as a data script or the catalogue defines it. <c>type</c> is string,
/// int, float, bool or date; a date has the <c>format</c> the function expects (AKShare mostly yyyyMMdd) and its
/// default may be relative (<see cref="RelativeDates"/>). A data script's parameter also says what its value does to
/// the rows: <c>Role</c> key (null means key: the value changes what a row means) or range (it only narrows which
/// rows come back), and <c>Column</c>, the output column that carries a key parameter's value in every row.
/// </summary>
public sealed record ParameterDefinition(
    string Name, string Type, bool Required, string? DefaultValue, string? Description, string? Format = null, IReadOnlyList<string>? Allowed = null,
    string? Role = null, string? Column = null);

public static class ParameterTypes
{
    public static readonly string[] All = ["string", "int", "float", "bool", "date"];
}

/// <summary>
/// Checks the values a caller gives against the definitions and turns them into what AKTools takes: strings in
/// a query. Unknown names, missing required values, wrong types and values outside the allowed set are a 422
/// naming the parameter (<c>parameters.symbol</c>). Relative dates are resolved in China's time zone, where the
/// trading day is.
/// </summary>
public sealed partial class ParameterBinder(TimeProvider time)
{
    private static readonly TimeZoneInfo China = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");

    public DateOnly Today => DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(time.GetUtcNow().UtcDateTime, China));

    /// <summary>Checks without resolving relative dates or defaults: what a task stores and resolves at each run.</summary>
    public void Check(IReadOnlyList<ParameterDefinition> definitions, JsonElement? supplied, string prefix = "parameters") =>
        Bind(definitions, supplied, prefix);

    /// <summary>
    /// The values AKTools will receive. <paramref name="refuseUnsafe"/> false leaves AKTools' character rule
    /// (<see cref="AkToolsArguments"/>) to the run, for values already stored: the run then fails with the reason and
    /// AKTools is never called, where a 422 would leave no trace of the scheduled run.
    /// </summary>
    public Dictionary<string, string> Bind(IReadOnlyList<ParameterDefinition> definitions, JsonElement? supplied, string prefix = "parameters", bool refuseUnsafe = true)
    {
        var errors = new List<FieldError>();
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (supplied is { ValueKind: JsonValueKind.Object } given)
        {
            foreach (var property in given.EnumerateObject())
            {
                // JSON may escape half a surrogate pair ("\ud800"); System.Text.Json refuses to read such a name or
                // string as .NET text. It can be no parameter's name nor value: a 422, not a 500 from the reader.
                if (!IsText(property))
                {
                    errors.Add(new FieldError(prefix, NotText));
                    continue;
                }

                if (property.Value.ValueKind == JsonValueKind.String && !IsText(property.Value))
                {
                    errors.Add(new FieldError($"{prefix}.{property.Name}", NotText));
                    continue;
                }

                if (definitions.All(d => d.Name != property.Name))
                {
                    errors.Add(new FieldError($"{prefix}.{Printable(property.Name)}", $"unknown parameter; known: {string.Join(", ", definitions.Select(d => d.Name))}"));
                }
                else
                {
                    values[property.Name] = property.Value;
                }
            }
        }
        else if (supplied is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
        {
            errors.Add(new FieldError(prefix, "parameters must be an object of name: value"));
        }

        var bound = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var definition in definitions)
        {
            var field = $"{prefix}.{definition.Name}";
            string? text;
            if (values.TryGetValue(definition.Name, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                text = Convert(definition, value, out var problem);
                if (problem is not null)
                {
                    errors.Add(new FieldError(field, problem));
                    continue;
                }
            }
            else if (definition.DefaultValue is not null)
            {
                text = definition.Type == "date" ? ResolveDate(definition.DefaultValue, definition.Format, out _) ?? definition.DefaultValue : definition.DefaultValue;
            }
            else if (definition.Required)
            {
                errors.Add(new FieldError(field, "required"));
                continue;
            }
            else
            {
                continue;
            }

            if (definition.Allowed is { Count: > 0 } allowed && !allowed.Contains(text))
            {
                errors.Add(new FieldError(field, $"must be one of: {string.Join(", ", allowed.Select(a => a.Length == 0 ? "\"\"" : a))}"));
                continue;
            }

            bound[definition.Name] = text ?? "";
        }

        if (refuseUnsafe)
        {
            errors.AddRange(AkToolsArguments.Problems(bound, prefix).Where(p => errors.All(e => e.Field != p.Field)));
        }

        if (errors.Count > 0)
        {
            throw new ApiError(422, ErrorCodes.ValidationFailed, "invalid parameters", errors);
        }

        return bound;
    }

    /// <summary>Fills a script's constant columns: "{param}" takes the run's value, "{today}" the run's date.</summary>
    public IReadOnlyDictionary<string, string> ResolveExtraColumns(IReadOnlyDictionary<string, string> extra, IReadOnlyDictionary<string, string> parameters) =>
        extra.ToDictionary(e => e.Key, e => Placeholder().Replace(e.Value, m =>
            m.Groups[1].Value == "today"
                ? Today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                : parameters.GetValueOrDefault(m.Groups[1].Value, "")), StringComparer.Ordinal);

    private string? Convert(ParameterDefinition definition, JsonElement value, out string? problem)
    {
        problem = null;
        switch (definition.Type)
        {
            case "int":
                if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var l)) return l.ToString(CultureInfo.InvariantCulture);
                if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l.ToString(CultureInfo.InvariantCulture);
                problem = "must be a whole number";
                return null;
            case "float":
                if (value.ValueKind == JsonValueKind.Number) return value.GetDouble().ToString("R", CultureInfo.InvariantCulture);
                if (value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d.ToString("R", CultureInfo.InvariantCulture);
                problem = "must be a number";
                return null;
            case "bool":
                // AKTools hands every argument to Python as text; Python's spelling is what AKShare compares with.
                if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean() ? "True" : "False";
                problem = "must be true or false";
                return null;
            case "date":
                if (value.ValueKind == JsonValueKind.String && ResolveDate(value.GetString()!, definition.Format, out problem) is { } date) return date;
                problem ??= $"must be a date ({definition.Format ?? "yyyyMMdd"}, yyyy-MM-dd or today-30d)";
                return null;
            default:
                if (value.ValueKind == JsonValueKind.String) return value.GetString();
                problem = "must be a string";
                return null;
        }
    }

    /// <summary>A date in the function's format from its own format, ISO yyyy-MM-dd, or a relative expression.</summary>
    public string? ResolveDate(string text, string? format, out string? problem)
    {
        problem = null;
        format ??= "yyyyMMdd";
        if (RelativeDates.Resolve(text, Today) is { } relative)
        {
            return relative.ToString(format, CultureInfo.InvariantCulture);
        }

        foreach (var accepted in new[] { format, "yyyy-MM-dd", "yyyyMMdd" })
        {
            if (DateOnly.TryParseExact(text, accepted, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            {
                return parsed.ToString(format, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private const string NotText = "is not valid text: it contains half of a UTF-16 surrogate pair (\\ud800-\\udfff alone)";

    private static bool IsText(JsonProperty property)
    {
        try
        {
            _ = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool IsText(JsonElement value)
    {
        try
        {
            _ = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>A name as it can be written back in an error: half a surrogate pair cannot be encoded, so it is shown as \uXXXX.</summary>
    private static string Printable(string name) =>
        AkToolsArguments.ValueProblem(name) is null ? name
            : string.Concat(name.Select(c => char.IsSurrogate(c) || char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    [GeneratedRegex(@"\{([A-Za-z0-9_]+)\}")]
    private static partial Regex Placeholder();
}
