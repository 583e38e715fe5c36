using System.Globalization;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// The comparisons a filter on a column may make, and what each means in SQL: one rule for the data page's
/// <c>filter[列][op]=v</c> (Tables) and a from_table source's <c>{"filter": {"列": {"op": v}}}</c> (Parameters), so
/// the same filter picks the same rows in both. <c>like</c> is "contains": the value's %, _ and \ match themselves.
/// </summary>
public static class FilterOperators
{
    public const string Equal = "eq";
    public const string Contains = "like";

    public static readonly IReadOnlyList<string> All = [Equal, "gt", "gte", "lt", "lte", Contains];

    /// <summary>The message for an operator that is none of <see cref="All"/>.</summary>
    public const string Expected = "operator must be eq, gt, gte, lt, lte or like";

    public static bool IsKnown(string op) => All.Contains(op, StringComparer.Ordinal);

    /// <summary>The condition on an already quoted column, its value the parameter <paramref name="parameter"/> (without @).</summary>
    public static string Condition(string quotedColumn, string op, string parameter) => op switch
    {
        "gt" => $"{quotedColumn} > @{parameter}",
        "gte" => $"{quotedColumn} >= @{parameter}",
        "lt" => $"{quotedColumn} < @{parameter}",
        "lte" => $"{quotedColumn} <= @{parameter}",
        Contains => $"{quotedColumn} LIKE @{parameter}",
        Equal => $"{quotedColumn} = @{parameter}",
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, Expected),
    };

    /// <summary>The parameter's value for the condition: the text itself, or for like the pattern that contains it.</summary>
    public static string Argument(string op, string value) => op == Contains ? Like.Contains(value) : value;

    /// <summary>
    /// The value as the column's type (information_schema's COLUMN_TYPE in capitals) takes it, or null when it is none
    /// of its values: a number for a numeric column; for a DATE yyyy-MM-dd or yyyyMMdd (the format every task uses), for
    /// a DATETIME or TIMESTAMP also a full timestamp (yyyy-MM-dd HH:mm[:ss[.ffffff]], a space or a T between). MySQL would
    /// otherwise compare 'abc' with a number as 0, and read "Jan 2024" or "2024/01/01" as a date nobody meant. like on
    /// a date compares its text ("2024-01" is January), so any text goes.
    /// </summary>
    public static string? Canonical(string type, string op, string value)
    {
        if (type.StartsWith("BIGINT", StringComparison.Ordinal) || type.StartsWith("INT", StringComparison.Ordinal) || type.StartsWith("TINYINT", StringComparison.Ordinal))
        {
            return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? value : null;
        }

        if (type.StartsWith("DOUBLE", StringComparison.Ordinal) || type.StartsWith("DECIMAL", StringComparison.Ordinal))
        {
            return decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? value : null;
        }

        var timed = type.StartsWith("DATETIME", StringComparison.Ordinal) || type.StartsWith("TIMESTAMP", StringComparison.Ordinal);
        if (!timed && !type.StartsWith("DATE", StringComparison.Ordinal) || op == Contains) return value;
        if (DateOnly.TryParseExact(value, Days, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + (timed ? " 00:00:00.000000" : "");
        }

        return timed && DateTime.TryParseExact(value, Moments, CultureInfo.InvariantCulture, DateTimeStyles.None, out var moment)
            ? moment.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)
            : null;
    }

    /// <summary>What a value of the type looks like, for the error that refuses one.</summary>
    public static string Expecting(string type) =>
        type.StartsWith("DATETIME", StringComparison.Ordinal) || type.StartsWith("TIMESTAMP", StringComparison.Ordinal) ? "give yyyy-MM-dd, yyyyMMdd or yyyy-MM-dd HH:mm:ss"
        : type.StartsWith("DATE", StringComparison.Ordinal) ? "give yyyy-MM-dd or yyyyMMdd"
        : "give a number";

    private static readonly string[] Days = ["yyyy-MM-dd", "yyyyMMdd"];

    private static readonly string[] Moments =
        ["yyyy-MM-dd HH:mm", "yyyy-MM-ddTHH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-ddTHH:mm:ss.FFFFFF"];
}
