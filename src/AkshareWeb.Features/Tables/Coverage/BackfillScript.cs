using System.Globalization;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Tables;

/// <summary>One part of a backfill: a key with missing days (its values as coverage reads them) and the range asked.</summary>
public sealed record BackfillPart(IReadOnlyDictionary<string, object?> Key, string KeyJson, DateOnly From, DateOnly To);

/// <summary>
/// How the data script that writes a table is asked for one key's missing days: the parameter each key column takes
/// its value from (the parameter's <c>column</c>, or a constant column that copies it, "{period}"), and the date
/// parameters that bound the range (the first date parameter whose name starts with "start" and the first whose name
/// starts with "end", each in its own format). A key column that no parameter sets is a 422 naming it: its value comes
/// from the upstream's rows, and no call asks for one key alone.
/// </summary>
public sealed record BackfillScript(string ScriptId, IReadOnlyDictionary<string, string> ParameterOf, ParameterDefinition Start, ParameterDefinition End)
{
    /// <summary>Missing ranges with at most this many trading days (weeks, months) between them are asked in one call.</summary>
    public const int MergeWithin = 3;

    /// <summary>A date parameter's format when its script names none, as everywhere else (AKShare's own).</summary>
    private const string DefaultFormat = "yyyyMMdd";

    public static BackfillScript Of(string scriptId, IReadOnlyList<ParameterDefinition> parameters, IReadOnlyDictionary<string, string> extraColumns, CoverageShape shape) =>
        Of(scriptId, parameters, extraColumns, shape.Name, shape.KeyColumns.Select(c => c.OriginalName).ToList());

    /// <summary>The same for a table known by its name and the key columns besides its date (one that does not exist yet:
    /// a task's first run creates it).</summary>
    public static BackfillScript Of(string scriptId, IReadOnlyList<ParameterDefinition> parameters, IReadOnlyDictionary<string, string> extraColumns,
        string tableName, IReadOnlyList<string> keyColumns)
    {
        var dates = parameters.Where(p => p.Type == "date" && p.Role is null or "range").ToList();
        var start = dates.FirstOrDefault(p => p.Name.StartsWith("start", StringComparison.OrdinalIgnoreCase));
        var end = dates.FirstOrDefault(p => p.Name.StartsWith("end", StringComparison.OrdinalIgnoreCase));
        if (start is null || end is null)
        {
            throw ApiError.Validation("table_name",
                $"the data script {scriptId}, which writes {tableName}, has no start and end date parameters, so it cannot be asked for the missing days alone");
        }

        var parameterOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var unset = new List<string>();
        foreach (var column in keyColumns)
        {
            if (SettingParameter(column, parameters, extraColumns) is { } name) parameterOf[column] = name;
            // A constant column: every row of the script has that value, and every call writes it.
            else if (!extraColumns.ContainsKey(column)) unset.Add(column);
        }

        if (unset.Count > 0)
        {
            throw ApiError.Validation("table_name",
                $"no parameter of the data script {scriptId} sets the key column{(unset.Count > 1 ? "s" : "")} {string.Join(", ", unset)} of {tableName}: " +
                "its values come from the upstream's rows, so no call asks for one key's days alone");
        }

        return new BackfillScript(scriptId, parameterOf, start, end);
    }

    /// <summary>The parameter that sets a key column: the one whose <c>column</c> it is, or the one a constant column copies
    /// ("{period}"); null when none does.</summary>
    public static string? SettingParameter(string column, IReadOnlyList<ParameterDefinition> parameters, IReadOnlyDictionary<string, string> extraColumns)
    {
        var name = parameters.FirstOrDefault(p => p.Column == column)?.Name;
        if (name is null && extraColumns.TryGetValue(column, out var extra) && extra.Length > 2 && extra[0] == '{' && extra[^1] == '}'
            && parameters.Any(p => p.Name == extra[1..^1]))
        {
            name = extra[1..^1];
        }

        return name;
    }

    /// <summary>The parts for one key: its missing ranges, those closer than <see cref="MergeWithin"/> trading days
    /// (weeks, months) merged into one call.</summary>
    public static IEnumerable<BackfillPart> Parts(KeyCoverage key, string keyJson, TradingDays days)
    {
        DateOnly[]? open = null;
        foreach (var range in key.MissingRanges)
        {
            // Trading days strictly between the open range's end and this range's start.
            if (open is not null && days.IndexOnOrAfter(range[0]) - days.IndexOnOrAfter(open[1]) - 1 <= MergeWithin * UnitDays(key.Unit))
            {
                open[1] = range[1];
                continue;
            }

            if (open is not null) yield return new BackfillPart(key.Key, keyJson, open[0], open[1]);
            open = [range[0], range[1]];
        }

        if (open is not null) yield return new BackfillPart(key.Key, keyJson, open[0], open[1]);
    }

    /// <summary>What the part sets: each key column's parameter with the key's value, and the range in the script's format.</summary>
    public Dictionary<string, string> Values(BackfillPart part)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (column, parameter) in ParameterOf)
        {
            values[parameter] = Convert.ToString(part.Key.GetValueOrDefault(column), CultureInfo.InvariantCulture) ?? "";
        }

        values[Start.Name] = part.From.ToString(Start.Format ?? DefaultFormat, CultureInfo.InvariantCulture);
        values[End.Name] = part.To.ToString(End.Format ?? DefaultFormat, CultureInfo.InvariantCulture);
        return values;
    }

    /// <summary>The range a call with these values asks for, each bound in its parameter's format; a bound that is
    /// absent or not a date is null (open).</summary>
    public (DateOnly? From, DateOnly? To) Range(IReadOnlyDictionary<string, string> values) => (Date(values, Start), Date(values, End));

    private static DateOnly? Date(IReadOnlyDictionary<string, string> values, ParameterDefinition parameter) =>
        values.TryGetValue(parameter.Name, out var text)
        && DateOnly.TryParseExact(text, parameter.Format ?? DefaultFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? day
            : null;

    private static int UnitDays(string unit) => unit switch
    {
        "week" => 5,
        "month" => 21,
        _ => 1,
    };
}
