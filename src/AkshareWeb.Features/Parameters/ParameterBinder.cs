using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Parameters;

/// <summary>
/// Checks the values a caller gives against the definitions and turns them into what AKTools takes: strings in
/// a query. Unknown names, missing required values, wrong types and values outside the allowed set are a 422
/// naming the parameter (<c>parameters.symbol</c>). Relative dates are resolved in the market's time zone
/// (<see cref="MarketTime"/>), where the trading day is.
/// </summary>
public sealed partial class ParameterBinder(MarketTime market)
{
    public DateOnly Today => market.Today;

    /// <summary>Checks without resolving relative dates or defaults: what a task stores and resolves at each run.</summary>
    public void Check(IReadOnlyList<ParameterDefinition> definitions, JsonElement? supplied, string prefix = "parameters") =>
        Bind(definitions, supplied, prefix);

    /// <summary>
    /// The values AKTools will receive. <paramref name="refuseUnsafe"/> false leaves AKTools' character rule
    /// (<see cref="AkToolsArguments"/>) to the run, for values already stored: the run then fails with the reason and
    /// AKTools is never called, where a 422 would leave no trace of the scheduled run.
    /// </summary>
    public Dictionary<string, string> Bind(IReadOnlyList<ParameterDefinition> definitions, JsonElement? supplied, string prefix = "parameters", bool refuseUnsafe = true) =>
        BindCore(definitions, supplied, prefix, refuseUnsafe, null, 0);

    /// <summary>
    /// As <see cref="Bind"/>, where a value may also be a source (<see cref="ValueSource"/>): those come back
    /// apart, each listed value converted and checked like a single one (<c>parameters.symbol[3]</c> names a bad one),
    /// and a cross product of lists above <paramref name="maxParts"/> is a 422.
    /// </summary>
    public (Dictionary<string, string> Values, Dictionary<string, ValueSource> Sources) BindWithSources(
        IReadOnlyList<ParameterDefinition> definitions, JsonElement? supplied, int maxParts, string prefix = "parameters", bool refuseUnsafe = true)
    {
        var sources = new Dictionary<string, ValueSource>(StringComparer.Ordinal);
        var values = BindCore(definitions, supplied, prefix, refuseUnsafe, sources, maxParts);
        return (values, sources);
    }

    private Dictionary<string, string> BindCore(
        IReadOnlyList<ParameterDefinition> definitions, JsonElement? supplied, string prefix, bool refuseUnsafe, Dictionary<string, ValueSource>? sources, int maxParts)
    {
        var errors = new FieldProblems();
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
                if (value.ValueKind == JsonValueKind.Object && sources is not null)
                {
                    if (ParseSource(definition, value, field, refuseUnsafe, maxParts, errors) is { } source) sources[definition.Name] = source;
                    continue;
                }

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

        if (sources is not null)
        {
            var parts = sources.Values.Where(v => v.Values is not null).Aggregate(1L, (product, v) => Math.Min(product * v.Values!.Count, long.MaxValue / 100_000));
            if (parts > maxParts)
            {
                errors.Add(new FieldError(prefix, $"the lists make {parts} parts; at most {maxParts} are allowed"));
            }
        }

        if (refuseUnsafe)
        {
            errors.AddRange(AkToolsArguments.Problems(bound, prefix).Where(p => errors.All(e => e.Field != p.Field)));
            // A window that ends before it starts asks AKShare for nothing and "completes" with 0 rows: the request's
            // mistake. A stored task's run (refuseUnsafe false) keeps its trace and runs as it was saved.
            errors.AddRange(DateWindows.Reversed(definitions, bound, prefix).Where(p => errors.All(e => e.Field != p.Field)));
        }

        if (errors.Count > 0)
        {
            throw new ApiError(422, ErrorCodes.ValidationFailed, "invalid parameters", errors.Detail(prefix));
        }

        return bound;
    }

    private ValueSource? ParseSource(ParameterDefinition definition, JsonElement value, string field, bool refuseUnsafe, int maxParts, FieldProblems errors)
    {
        if (value.TryGetProperty("values", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            {
                errors.Add(new FieldError($"{field}.values", "must be a non-empty list of values"));
                return null;
            }

            // A list longer than a run may have parts is refused as a whole, before any item is looked at.
            if (list.GetArrayLength() > maxParts)
            {
                errors.Add(new FieldError($"{field}.values", $"has {list.GetArrayLength()} values; at most {maxParts} are allowed (Parts:MaxParts)"));
                return null;
            }

            var texts = new List<string>(list.GetArrayLength());
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var index = 0;
            var valid = true;
            foreach (var item in list.EnumerateArray())
            {
                var itemField = $"{field}[{index++}]";
                string? text = null;
                var problem = "must be a value, not null";
                if (item.ValueKind != JsonValueKind.Null) text = Convert(definition, item, out problem);

                if (problem is null && definition.Allowed is { Count: > 0 } allowed && !allowed.Contains(text!))
                {
                    problem = $"must be one of: {string.Join(", ", allowed.Select(a => a.Length == 0 ? "\"\"" : a))}";
                }

                if (problem is null && refuseUnsafe) problem = AkToolsArguments.ValueProblem(text!);
                if (problem is not null)
                {
                    errors.Add(new FieldError(itemField, problem));
                    valid = false;
                }
                else if (seen.Add(text!))
                {
                    texts.Add(text!);
                }
            }

            return valid ? new ValueSource(Values: texts) : null;
        }

        if (value.TryGetProperty("from_table", out var table))
        {
            var column = value.TryGetProperty("column", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            if (table.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(table.GetString()))
            {
                errors.Add(new FieldError($"{field}.from_table", "must be the name of a managed table"));
                return null;
            }

            if (string.IsNullOrEmpty(column))
            {
                errors.Add(new FieldError($"{field}.column", "required: the column whose distinct values make the parts"));
                return null;
            }

            var filter = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (value.TryGetProperty("filter", out var f) && f.ValueKind != JsonValueKind.Null)
            {
                if (f.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new FieldError($"{field}.filter", "must be an object of column: value or column: {operator: value}"));
                    return null;
                }

                foreach (var condition in f.EnumerateObject())
                {
                    if (FilterProblem(condition.Value) is { } problem)
                    {
                        errors.Add(new FieldError($"{field}.filter.{Printable(condition.Name)}", problem));
                        return null;
                    }

                    filter[condition.Name] = condition.Value.Clone();
                }
            }

            return new ValueSource(FromTable: table.GetString(), Column: column, Filter: filter);
        }

        if (value.TryGetProperty("since_last", out var since))
        {
            if (definition.Type != "date")
            {
                errors.Add(new FieldError($"{field}.since_last", "since_last is for date parameters"));
                return null;
            }

            if (since.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(since.GetString()))
            {
                errors.Add(new FieldError($"{field}.since_last", "must name the target table's date column"));
                return null;
            }

            var overlap = 0;
            if (value.TryGetProperty("overlap_days", out var o) && (o.ValueKind != JsonValueKind.Number || !o.TryGetInt32(out overlap) || overlap is < 0 or > 3650))
            {
                errors.Add(new FieldError($"{field}.overlap_days", "must be a whole number of days from 0 to 3650"));
                return null;
            }

            return new ValueSource(SinceLast: since.GetString(), OverlapDays: overlap);
        }

        errors.Add(new FieldError(field, "an object here must be {\"values\": [...]}, {\"from_table\": ..., \"column\": ...} or, for a date, {\"since_last\": ..., \"overlap_days\": n}"));
        return null;
    }

    /// <summary>What is wrong with one column's filter: a single value (equality) or an object of operator: single
    /// value, the operators those of the data page's filter[列][op] (<see cref="FilterOperators"/>).</summary>
    private static string? FilterProblem(JsonElement condition)
    {
        static bool Single(JsonElement v) => v.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False;
        if (Single(condition)) return null;
        if (condition.ValueKind != JsonValueKind.Object) return "must be a single value or {operator: value}";
        var any = false;
        foreach (var op in condition.EnumerateObject())
        {
            any = true;
            if (!FilterOperators.IsKnown(op.Name)) return $"{FilterOperators.Expected}, not {Printable(op.Name)}";
            if (!Single(op.Value)) return $"{op.Name}: must be a single value";
        }

        return any ? null : "must name at least one operator: eq, gt, gte, lt, lte or like";
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
