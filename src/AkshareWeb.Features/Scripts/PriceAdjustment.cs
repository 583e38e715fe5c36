using System.Text.Json;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Scripts;

/// <summary>
/// How a script's stored (unadjusted) prices become adjusted ones when they are read: which columns are prices, the
/// date and key columns that find a row's factor, and for qfq and hfq the factor table that holds the step table
/// (a factor is in force from its date until the next one's). The prices are never stored adjusted, so a new
/// dividend changes every adjusted answer at once without refetching a single bar.
/// </summary>
public sealed record PriceAdjustment(
    string DateColumn, IReadOnlyList<string> KeyColumns, IReadOnlyList<string> PriceColumns, FactorSeries? Qfq = null, FactorSeries? Hfq = null)
{
    /// <summary>The factor series of <paramref name="method"/> (qfq or hfq); null when the script declares none.</summary>
    public FactorSeries? For(string method) => method switch
    {
        PriceAdjustments.Qfq => Qfq,
        PriceAdjustments.Hfq => Hfq,
        _ => null,
    };
}

/// <summary>
/// A factor table: its factor column, whether a price is multiplied or divided by it (Sina: hfq = raw x factor,
/// qfq = raw / factor), and its date and key columns where they are named otherwise than the prices' table's.
/// </summary>
public sealed record FactorSeries(string Table, string FactorColumn, string Apply, string? DateColumn = null, IReadOnlyList<string>? KeyColumns = null);

public static class PriceAdjustments
{
    public const string Qfq = "qfq";
    public const string Hfq = "hfq";
    public const string Multiply = "multiply";
    public const string Divide = "divide";

    /// <summary>The "adjustment" object of a script file; its problems are added to <paramref name="errors"/>.</summary>
    public static PriceAdjustment? Parse(JsonElement value, List<string> errors)
    {
        var before = errors.Count;
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("\"adjustment\" must be an object: {date_column, key_columns, price_columns, qfq, hfq}");
            return null;
        }

        var date = Text(value, "date_column", "adjustment", errors);
        var keys = Names(value, "key_columns", "adjustment", errors, required: true);
        var prices = Names(value, "price_columns", "adjustment", errors, required: true);
        var qfq = Series(value, Qfq, keys, errors);
        var hfq = Series(value, Hfq, keys, errors);
        if (qfq is null && hfq is null && errors.Count == before) errors.Add("\"adjustment\" needs qfq or hfq (or both): {table, factor_column, apply}");
        return errors.Count > before ? null : new PriceAdjustment(date!, keys!, prices!, qfq, hfq);
    }

    private static FactorSeries? Series(JsonElement adjustment, string method, IReadOnlyList<string>? keys, List<string> errors)
    {
        if (!adjustment.TryGetProperty(method, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        var where = $"adjustment.{method}";
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"\"{where}\" must be an object: {{table, factor_column, apply}}");
            return null;
        }

        var table = Text(value, "table", where, errors);
        if (table is not null && !TableNames.IsWarehouseTable(table)) errors.Add($"\"{where}.table\" must be a table name (ak_ followed by lowercase letters, digits or _)");
        var factor = Text(value, "factor_column", where, errors);
        var apply = Text(value, "apply", where, errors);
        if (apply is not null and not (Multiply or Divide)) errors.Add($"\"{where}.apply\" must be multiply or divide");
        var date = value.TryGetProperty("date_column", out _) ? Text(value, "date_column", where, errors) : null;
        var factorKeys = Names(value, "key_columns", where, errors, required: false);
        if (factorKeys is not null && keys is not null && factorKeys.Count != keys.Count)
        {
            errors.Add($"\"{where}.key_columns\" must name as many columns as adjustment.key_columns, pair by pair");
        }

        return table is null || factor is null || apply is null ? null : new FactorSeries(table, factor, apply, date, factorKeys);
    }

    private static string? Text(JsonElement owner, string name, string where, List<string> errors)
    {
        if (owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0) return value.GetString();
        errors.Add($"\"{where}.{name}\" is required and must be a non-empty string");
        return null;
    }

    private static List<string>? Names(JsonElement owner, string name, string where, List<string> errors, bool required)
    {
        if (!owner.TryGetProperty(name, out var value))
        {
            if (required) errors.Add($"\"{where}.{name}\" is required: an array of column names");
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0
            || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String || v.GetString()!.Length == 0))
        {
            errors.Add($"\"{where}.{name}\" must be a non-empty array of column names");
            return null;
        }

        return value.EnumerateArray().Select(v => v.GetString()!).ToList();
    }
}
