using System.Globalization;

namespace AkshareWeb.Features.Common;

/// <summary>
/// The comparisons a filter on a column may make, and what each means in SQL: one rule for the data page's
/// <c>filter[列][op]=v</c> (Tables) and a from_table source's <c>{"filter": {"列": {"op": v}}}</c> (Collection), so
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

    /// <summary>Whether a filter's value can be a value of the column's type (information_schema's COLUMN_TYPE in
    /// capitals): a number for a numeric column, a date for a date column, anything for text. MySQL would otherwise
    /// compare 'abc' with a number as 0 and quietly filter on something nobody asked for.</summary>
    public static bool Fits(string type, string value) =>
        type.StartsWith("BIGINT", StringComparison.Ordinal) || type.StartsWith("INT", StringComparison.Ordinal) || type.StartsWith("TINYINT", StringComparison.Ordinal)
            ? long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            : type.StartsWith("DOUBLE", StringComparison.Ordinal) || type.StartsWith("DECIMAL", StringComparison.Ordinal)
                ? decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                : type.StartsWith("DATE", StringComparison.Ordinal)
                    ? DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
                    : true;
}
