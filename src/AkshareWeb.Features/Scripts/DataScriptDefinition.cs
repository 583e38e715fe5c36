using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Scripts;

/// <summary>A data script: which AKShare function to call with which parameters, and how to store what it returns.
/// The file format is described in data-scripts/README.md.</summary>
public sealed record DataScriptDefinition(
    string Id, string Name, string? Description, string Category, string Frequency, string Interface,
    IReadOnlyList<ParameterDefinition> Parameters, string TargetTable, string WriteMode,
    IReadOnlyList<string> KeyColumns, IReadOnlyDictionary<string, string> ExtraColumns,
    IReadOnlyList<OutputColumn>? OutputColumns = null, string? OutputColumnsNote = null, DatedColumns? DatedColumns = null,
    PriceAdjustment? Adjustment = null, BarColumnNames? BarColumns = null);

/// <summary>
/// Which of a script's columns are a bar's prices and volume (AKShare's names), for the health checks; a role left
/// out is taken from AKShare's usual names (开盘 收盘 最高 最低 成交量, open close high low volume) when the table has one.
/// </summary>
public sealed record BarColumnNames(string? Open, string? High, string? Low, string? Close, string? Volume)
{
    public static readonly string[] Roles = ["open", "high", "low", "close", "volume"];
}

/// <summary>A column the function really returns, where AKShare's registry lists it wrongly or not at all.</summary>
public sealed record OutputColumn(string Name, string? Type);

public static partial class DataScriptFiles
{
    public static readonly string[] Categories = ["stocks", "funds", "futures", "indexes", "options", "bonds", "macro"];
    public static readonly string[] Frequencies = ["intraday", "daily", "weekly", "monthly", "quarterly", "yearly", "once"];

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Reads and checks one file; the errors say what is wrong in it, each on its own.</summary>
    public static (DataScriptDefinition? Script, IReadOnlyList<string> Errors) Parse(string json, string category, string frequency, string id)
    {
        var errors = new List<string>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            return (null, [$"not valid JSON: {e.Message}"]);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, ["the file must hold one JSON object"]);

            string? Text(string name, bool required = true)
            {
                if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0) return value.GetString();
                if (required) errors.Add($"\"{name}\" is required and must be a non-empty string");
                return null;
            }

            var scriptId = Text("id");
            var name = Text("name");
            var description = Text("description", required: false);
            var scriptCategory = Text("category");
            var scriptFrequency = Text("frequency");
            var function = Text("interface");
            var table = Text("target_table");
            var mode = Text("write_mode");

            if (scriptId is not null && (scriptId != id || !IdPattern().IsMatch(scriptId))) errors.Add($"\"id\" must be [a-z0-9_]{{1,64}} and equal the file name ({id})");
            if (scriptCategory is not null && (scriptCategory != category || !Categories.Contains(scriptCategory))) errors.Add($"\"category\" must be the folder it is in ({category}), one of {string.Join(", ", Categories)}");
            if (scriptFrequency is not null && (scriptFrequency != frequency || !Frequencies.Contains(scriptFrequency))) errors.Add($"\"frequency\" must be the sub-folder it is in ({frequency}), one of {string.Join(", ", Frequencies)}");
            if (function is not null && !FunctionPattern().IsMatch(function)) errors.Add("\"interface\" must be an AKShare function name");
            if (table is not null && !TableNames.IsWarehouseTable(table)) errors.Add("\"target_table\" must be ak_ followed by lowercase letters, digits or _ (64 characters at most)");
            if (mode is not null && !WriteModes.All.Contains(mode)) errors.Add("\"write_mode\" must be upsert, append or replace");

            var parameters = new List<ParameterDefinition>();
            if (root.TryGetProperty("parameters", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array) errors.Add("\"parameters\" must be an array");
                else
                {
                    foreach (var p in list.EnumerateArray())
                    {
                        var parameter = ParseParameter(p, errors);
                        if (parameter is null) continue;
                        if (parameters.Any(x => x.Name == parameter.Name)) errors.Add($"parameter {parameter.Name} is defined twice");
                        else parameters.Add(parameter);
                    }
                }
            }

            var keys = new List<string>();
            if (root.TryGetProperty("key_columns", out var keyList) && keyList.ValueKind == JsonValueKind.Array)
            {
                keys.AddRange(keyList.EnumerateArray().Where(k => k.ValueKind == JsonValueKind.String).Select(k => k.GetString()!));
            }

            if (mode == WriteModes.Upsert && keys.Count == 0) errors.Add("upsert needs \"key_columns\": the natural key of a row");

            var extra = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("extra_columns", out var extras))
            {
                if (extras.ValueKind != JsonValueKind.Object) errors.Add("\"extra_columns\" must be an object of column: value");
                else
                {
                    foreach (var column in extras.EnumerateObject())
                    {
                        var value = column.Value.ValueKind == JsonValueKind.String ? column.Value.GetString()! : column.Value.GetRawText();
                        foreach (Match m in PlaceholderPattern().Matches(value))
                        {
                            var reference = m.Groups[1].Value;
                            if (reference != "today" && parameters.All(p => p.Name != reference))
                                errors.Add($"extra column {column.Name} refers to {{{reference}}}, which is not a parameter");
                        }

                        extra[column.Name] = value;
                    }
                }
            }

            List<OutputColumn>? outputs = null;
            if (root.TryGetProperty("output_columns", out var outputList))
            {
                if (outputList.ValueKind != JsonValueKind.Array || outputList.EnumerateArray().Any(o => o.ValueKind != JsonValueKind.Object
                    || !o.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String))
                {
                    errors.Add("\"output_columns\" must be an array of {name, type}");
                }
                else
                {
                    outputs = outputList.EnumerateArray().Select(o => new OutputColumn(o.GetProperty("name").GetString()!,
                        o.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null)).ToList();
                }
            }

            DatedColumns? dated = null;
            if (root.TryGetProperty("dated_columns", out var datedObject))
            {
                string? Field(string field) => datedObject.ValueKind == JsonValueKind.Object && datedObject.TryGetProperty(field, out var v)
                    && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var (pattern, dateColumn, prefix) = (Field("pattern"), Field("date_column"), Field("previous_prefix"));
                if (pattern is null || dateColumn is null || prefix is null) errors.Add("\"dated_columns\" needs pattern, date_column and previous_prefix");
                else if (!ValidPattern(pattern)) errors.Add("\"dated_columns\".pattern must be a regular expression with two groups: date, name");
                else dated = new DatedColumns(pattern, dateColumn, prefix);
            }

            var adjustment = root.TryGetProperty("adjustment", out var adjustmentObject) ? PriceAdjustments.Parse(adjustmentObject, errors) : null;
            var bars = root.TryGetProperty("bar_columns", out var barObject) ? ParseBarColumns(barObject, keys, errors) : null;

            if (errors.Count > 0) return (null, errors);
            return (new DataScriptDefinition(scriptId!, name!, description, scriptCategory!, scriptFrequency!, function!, parameters, table!, mode!, keys, extra,
                outputs, Text("output_columns_note", required: false), dated, adjustment, bars), []);
        }
    }

    /// <summary><c>"bar_columns": {"open": "开盘", "close": "收盘", ...}</c>: roles open, high, low, close, volume, each a
    /// column name that is no key column.</summary>
    private static BarColumnNames? ParseBarColumns(JsonElement bars, IReadOnlyList<string> keys, List<string> errors)
    {
        if (bars.ValueKind != JsonValueKind.Object)
        {
            errors.Add("\"bar_columns\" must be an object of role: column, roles " + string.Join(", ", BarColumnNames.Roles));
            return null;
        }

        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var role in bars.EnumerateObject())
        {
            if (!BarColumnNames.Roles.Contains(role.Name)) errors.Add($"\"bar_columns\".{role.Name} is no role; roles are {string.Join(", ", BarColumnNames.Roles)}");
            else if (role.Value.ValueKind != JsonValueKind.String || role.Value.GetString()!.Length == 0) errors.Add($"\"bar_columns\".{role.Name} must be a column name");
            else if (keys.Contains(role.Value.GetString()!)) errors.Add($"\"bar_columns\".{role.Name} names a key column ({role.Value.GetString()})");
            else named[role.Name] = role.Value.GetString()!;
        }

        if (named.Count == 0) errors.Add("\"bar_columns\" names no column");
        return named.Count == 0 ? null
            : new BarColumnNames(named.GetValueOrDefault("open"), named.GetValueOrDefault("high"), named.GetValueOrDefault("low"), named.GetValueOrDefault("close"), named.GetValueOrDefault("volume"));
    }

    private static ParameterDefinition? ParseParameter(JsonElement p, List<string> errors)
    {
        if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String || !ParameterPattern().IsMatch(n.GetString()!))
        {
            errors.Add("every parameter needs a \"name\" that is a Python identifier");
            return null;
        }

        var name = n.GetString()!;
        var type = p.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "string";
        if (!ParameterTypes.All.Contains(type))
        {
            errors.Add($"parameter {name}: type must be one of {string.Join(", ", ParameterTypes.All)}");
            return null;
        }

        var required = p.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.True;
        string? defaultValue = null;
        if (p.TryGetProperty("default", out var d) && d.ValueKind != JsonValueKind.Null)
        {
            defaultValue = d.ValueKind switch
            {
                JsonValueKind.String => d.GetString(),
                JsonValueKind.True => "True",
                JsonValueKind.False => "False",
                _ => d.GetRawText(),
            };
        }

        // A relative date is resolved before it is sent (today+3m goes as 20270301); any other default goes as it is.
        if (defaultValue is not null && !(type == "date" && RelativeDates.IsRelative(defaultValue))
            && AkToolsArguments.ValueProblem(defaultValue) is { } unsafeDefault)
        {
            errors.Add($"parameter {name}: the default is {unsafeDefault}");
        }

        var format = p.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        if (type == "date" && format is not null && format.Any(c => !"yMd-/.".Contains(c, StringComparison.Ordinal)))
        {
            errors.Add($"parameter {name}: a date format uses y, M, d and separators, such as yyyyMMdd");
        }

        if (type == "date" && defaultValue is not null && !DateDefaultParses(defaultValue, format ?? "yyyyMMdd"))
        {
            errors.Add($"parameter {name}: the default must be a date in its format or relative (today-30d, quarter_end, month_end-1m, year_end)");
        }

        List<string>? allowed = null;
        if (p.TryGetProperty("allowed", out var a) && a.ValueKind == JsonValueKind.Array)
        {
            allowed = a.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToList();
        }

        var description = p.TryGetProperty("description", out var desc) && desc.ValueKind == JsonValueKind.String ? desc.GetString() : null;
        // Role and column are kept as written: the linter (DataScriptLinter) says what is wrong with them.
        var role = p.TryGetProperty("role", out var ro) && ro.ValueKind == JsonValueKind.String ? ro.GetString() : null;
        var column = p.TryGetProperty("column", out var co) && co.ValueKind == JsonValueKind.String ? co.GetString() : null;
        return new ParameterDefinition(name, type, required, defaultValue, description, type == "date" ? format ?? "yyyyMMdd" : null, allowed, role, column);
    }

    /// <summary>An empty default (AKShare's "" for all) is fine; otherwise a relative date or a date in the format.</summary>
    public static bool DateDefaultParses(string value, string format) =>
        value.Length == 0 || RelativeDates.IsRelative(value)
        || DateOnly.TryParseExact(value, format, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    private static bool ValidPattern(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1)).GetGroupNumbers().Length >= 3;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex("^[a-z0-9_]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex FunctionPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,99}$")]
    private static partial Regex ParameterPattern();

    [GeneratedRegex(@"\{([A-Za-z0-9_]+)\}")]
    private static partial Regex PlaceholderPattern();

}
