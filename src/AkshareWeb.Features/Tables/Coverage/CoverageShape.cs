using System.Text.Json;
using Dapper;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// What coverage needs of a table: the date column of its key (the first DATE or DATETIME column among the script's
/// key columns), the other key columns, which make a key (股票代码, period, adjust), the period column when there
/// is one (its value says whether a key's rows are daily, weekly or monthly bars), and whether a key has at most
/// one row a day (a DATE column under a unique index within the key), which lets rows be counted instead of days.
/// </summary>
public sealed record CoverageShape(
    ManagedTable Table, TableColumn DateColumn, IReadOnlyList<TableColumn> KeyColumns, TableColumn? PeriodColumn, bool OneRowPerDay,
    IReadOnlyList<TableColumn> Leading)
{
    /// <summary>The period values of the library's bar scripts and the unit each names; any other value (minutes) counts days.</summary>
    private static readonly Dictionary<string, CalendarUnit> Periods = new(StringComparer.OrdinalIgnoreCase)
    {
        ["daily"] = CalendarUnit.Day, ["day"] = CalendarUnit.Day, ["日k"] = CalendarUnit.Day,
        ["weekly"] = CalendarUnit.Week, ["week"] = CalendarUnit.Week, ["周k"] = CalendarUnit.Week,
        ["monthly"] = CalendarUnit.Month, ["month"] = CalendarUnit.Month, ["月k"] = CalendarUnit.Month,
    };

    public string Name => Table.Name;

    /// <summary>The date column as a day: itself, or its date part when it holds times (minute bars).</summary>
    public string DayExpression => DateColumn.Type.StartsWith("DATETIME", StringComparison.Ordinal) || DateColumn.Type.StartsWith("TIMESTAMP", StringComparison.Ordinal)
        ? $"CAST({Warehouse.ColumnNames.Quote(DateColumn.Name)} AS DATE)"
        : Warehouse.ColumnNames.Quote(DateColumn.Name);

    /// <summary>The unit a key's rows follow, from its period value.</summary>
    public CalendarUnit UnitOf(IReadOnlyList<object?> values)
    {
        if (PeriodColumn is null) return CalendarUnit.Day;
        var i = KeyColumns.Select((c, n) => (c, n)).First(p => p.c.Name == PeriodColumn.Name).n;
        return values[i] is string period && Periods.TryGetValue(period.Trim(), out var unit) ? unit : CalendarUnit.Day;
    }

    /// <summary>The period values that name <paramref name="unit"/>.</summary>
    public static IReadOnlyList<string> PeriodValues(CalendarUnit unit) => Periods.Where(p => p.Value == unit).Select(p => p.Key).ToList();

    /// <summary>The table's coverage shape, or a 404 (not a managed table) or 422 (no date in its key, said why).</summary>
    public static async Task<CoverageShape> ResolveAsync(ManagedTables tables, WarehouseTables registry, WarehouseDatabase warehouse, string tableName, CancellationToken ct)
    {
        var table = await tables.ResolveAsync(tableName, ct);
        var registered = await registry.FindAsync(table.Name, ct) ?? throw ApiError.NotFound("table");
        var (keyNames, writeMode) = (registered.KeyColumns, registered.WriteMode);
        var keyColumns = keyNames.Select(k => table.Columns.FirstOrDefault(c => c.OriginalName == k) ?? table.Columns.FirstOrDefault(c => c.Name == k))
            .OfType<TableColumn>().ToList();
        var date = keyColumns.FirstOrDefault(c => c.Type.StartsWith("DATE", StringComparison.Ordinal) || c.Type.StartsWith("TIMESTAMP", StringComparison.Ordinal));
        if (date is null) throw NoDateKey(table.Name, keyNames, writeMode);

        var others = keyColumns.Where(c => c != date).ToList();
        var period = others.FirstOrDefault(c => string.Equals(c.OriginalName, "period", StringComparison.OrdinalIgnoreCase));
        IReadOnlyList<TableIndex> indexes;
        await using (var connection = await warehouse.OpenAsync(ct))
        {
            indexes = await ManagedTables.IndexesAsync(connection, table.Name, ct);
        }

        var keySet = keyColumns.Select(c => c.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var oneRowPerDay = date.Type == "DATE" && indexes.Any(i => i.Unique && i.Columns.All(keySet.Contains));
        // The key columns an index of the key starts with, before the date (股票代码 of 股票代码, 日期, period, adjust):
        // grouping by them reads that index in order, without a temporary table.
        var natural = indexes.Where(i => i.Columns.Count == keySet.Count && i.Columns.All(keySet.Contains)).OrderByDescending(i => i.Unique).FirstOrDefault();
        var leading = natural is null ? [] : natural.Columns.TakeWhile(c => !string.Equals(c, date.Name, StringComparison.OrdinalIgnoreCase))
            .Select(c => others.First(o => string.Equals(o.Name, c, StringComparison.OrdinalIgnoreCase))).ToList();
        return new CoverageShape(table, date, others, period, oneRowPerDay, leading);
    }

    private static ApiError NoDateKey(string table, IReadOnlyList<string> keys, string? writeMode)
    {
        var why = keys.Count == 0
            ? $"{table} has no key columns (its script's write mode is {writeMode ?? "unknown"}), so nothing says which trading day a row is for"
            : $"the key of {table} ({string.Join(", ", keys)}) has no date column, so nothing says which trading day a row is for";
        return new ApiError(422, ErrorCodes.ValidationFailed, $"coverage needs a date column in the table's key: {why}",
            new[] { new FieldError("table_name", why) });
    }
}
