using AkshareWeb.Features.Common;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>The columns a table's bars are checked on, each null when the table has none for the role, and where
/// they were learned: <c>script</c> (its bar_columns) or <c>names</c> (AKShare's usual names).</summary>
public sealed record BarColumns(TableColumn? Open, TableColumn? High, TableColumn? Low, TableColumn? Close, TableColumn? Volume, string Source)
{
    public IEnumerable<TableColumn> Prices => new[] { Open, High, Low, Close }.OfType<TableColumn>();

    public bool Any => Prices.Any() || Volume is not null;
}

/// <summary>
/// What the health checks need of a table: coverage's shape (the date column of its key and the other key columns)
/// and its bar columns. A column the script declares (<see cref="BarColumnNames"/>) wins; a role it leaves out is
/// taken from AKShare's usual names, Chinese (东方财富, 同花顺) or English (新浪, 腾讯).
/// </summary>
public sealed record HealthShape(CoverageShape Coverage, BarColumns Bars)
{
    private static readonly Dictionary<string, string[]> UsualNames = new(StringComparer.Ordinal)
    {
        ["open"] = ["开盘", "open", "开盘价", "今开"],
        ["high"] = ["最高", "high", "最高价"],
        ["low"] = ["最低", "low", "最低价"],
        ["close"] = ["收盘", "close", "收盘价"],
        ["volume"] = ["成交量", "volume"],
    };

    public string Name => Coverage.Name;

    /// <summary>The table's health shape; a 404 for no managed table, a 422 (said why) for a table without a date in its
    /// key or without price and volume columns.</summary>
    public static async Task<HealthShape> ResolveAsync(
        ManagedTables tables, WarehouseTables registry, WarehouseDatabase warehouse, DataScriptLibrary scripts, string tableName, CancellationToken ct)
    {
        CoverageShape coverage;
        try
        {
            coverage = await CoverageShape.ResolveAsync(tables, registry, warehouse, tableName, ct);
        }
        catch (ApiError e) when (e.Status == 422)
        {
            throw new ApiError(422, ErrorCodes.ValidationFailed, "health checks need a date column in the table's key: " + e.Message.Split(": ", 2)[^1], e.Detail);
        }

        var registered = await registry.FindAsync(coverage.Name, ct);
        var declared = await DeclaredAsync(scripts, registered, ct);
        var bars = FindBars(coverage, declared);
        if (!bars.Any)
        {
            var why = $"{coverage.Name} has no price or volume column: none declared in its script's bar_columns, and none of AKShare's usual names ({string.Join(", ", UsualNames.Values.SelectMany(n => n.Take(2)))})";
            throw new ApiError(422, ErrorCodes.ValidationFailed, "health checks need price or volume columns: " + why, new[] { new FieldError("table_name", why) });
        }

        return new HealthShape(coverage, bars);
    }

    private static async Task<BarColumnNames?> DeclaredAsync(DataScriptLibrary scripts, RegisteredTable? registered, CancellationToken ct)
    {
        if (registered?.ScriptId is { } scriptId && await scripts.FindAsync(scriptId, ct) is { } found) return found.Script.BarColumns;
        if (registered?.InterfaceName is { } function) return (await scripts.FindFillingAsync(registered.TableName, function, ct))?.BarColumns;
        return null;
    }

    private static BarColumns FindBars(CoverageShape shape, BarColumnNames? declared)
    {
        var keyNames = shape.KeyColumns.Select(c => c.Name).Append(shape.DateColumn.Name).ToHashSet(StringComparer.Ordinal);
        var candidates = shape.Table.Columns.Where(c => !keyNames.Contains(c.Name) && !BookkeepingColumns.IsBookkeeping(c.Name)).ToList();
        var fromScript = false;
        TableColumn? Find(string role, string? name)
        {
            if (name is not null && (candidates.FirstOrDefault(c => c.OriginalName == name) ?? candidates.FirstOrDefault(c => c.Name == name)) is { } named)
            {
                fromScript = true;
                return named;
            }

            // A usual name counts only for a column that holds numbers: 成交量 as text ("1.2万") is no volume to compare.
            return UsualNames[role].Select(n => candidates.FirstOrDefault(c => c.OriginalName == n && IsNumeric(c.Type))).OfType<TableColumn>().FirstOrDefault();
        }

        var bars = new BarColumns(Find("open", declared?.Open), Find("high", declared?.High), Find("low", declared?.Low), Find("close", declared?.Close),
            Find("volume", declared?.Volume), "names");
        return fromScript ? bars with { Source = "script" } : bars;
    }

    /// <summary>Whether a column of this SQL type holds numbers.</summary>
    public static bool IsNumeric(string type) =>
        new[] { "DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INT", "SMALLINT", "TINYINT", "MEDIUMINT", "REAL", "NUMERIC" }
            .Any(t => type.StartsWith(t, StringComparison.Ordinal));
}
