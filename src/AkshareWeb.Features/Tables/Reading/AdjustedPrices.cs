using System.Collections.Concurrent;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// What an adjusted read changes in a query on a table aliased <c>t</c>, in two forms of the same answer: for a page,
/// a select list that looks each row's factor up on its own (<see cref="RowSelectList"/>, no join); for a stream of the
/// whole table, a select list and a join with the factor table's steps as intervals (<see cref="StreamSelectList"/>,
/// <see cref="StreamJoin"/>). The columns as shown: the prices as DOUBLE.
/// </summary>
public sealed record AdjustedRead(string RowSelectList, string StreamSelectList, string StreamJoin, IReadOnlyList<TableColumn> Shown);

/// <summary>
/// Prices adjusted when read (<c>adjust=qfq|hfq</c> on /data and /export), for tables whose script declares an
/// "adjustment": the stored rows stay unadjusted, and each row gets the factor in force at its date for its key, the
/// factor row of the key with the latest date on or before it. MariaDB 10.11 has no LATERAL join, and a join whose ON
/// compares with a correlated subquery runs the subquery for every factor row of the key, so there are two forms:
/// <list type="bullet">
/// <item>a page (at most a few hundred rows) asks, per price, <c>(SELECT f FROM factors fm WHERE fm.key = t.key AND
/// fm.date &lt;= t.date ORDER BY fm.date DESC LIMIT 1)</c>: one backward dive into the factor table's unique (key,
/// date) index, whatever its size, and nothing read for rows that are not on the page;</item>
/// <item>an export (every row) joins the factor table once made into intervals, <c>LEFT JOIN (SELECT key, date,
/// LEAD(date) OVER (PARTITION BY key ORDER BY date) AS until, f FROM factors) fa ON fa.key = t.key AND fa.date &lt;=
/// t.date AND (fa.until IS NULL OR t.date &lt; fa.until)</c>: the small factor table is read and sorted once, both
/// servers index the derived table on the key (or hash it), and each row then compares with its key's steps only.
/// The LEFT JOIN keeps the bars first, so the export's order still comes from their index.</item>
/// </list>
/// Both are plain SQL of MariaDB 10.2+ and MySQL 8. A row dated before its key's first factor has no factor in force:
/// its adjusted prices are null (AKShare leaves such rows out of its own adjusted answer). Every identifier comes from
/// information_schema (the two tables' columns and indexes), never from the request.
/// </summary>
public sealed class AdjustedPrices(DataScriptLibrary scripts, ManagedTables tables, TimeProvider time)
{
    /// <summary>How long a table's declared adjustment serves before data_scripts is read again (a rescan).</summary>
    private static readonly TimeSpan DeclarationLifetime = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (PriceAdjustment? Adjustment, long ReadAt)> declarations = new(StringComparer.Ordinal);

    /// <summary>The method asked for: null for the stored prices (absent or empty), qfq or hfq; anything else is a 422.</summary>
    public static string? Method(string? adjust) => adjust switch
    {
        null or "" => null,
        PriceAdjustments.Qfq or PriceAdjustments.Hfq => adjust,
        _ => throw ApiError.Validation("adjust", "adjust must be qfq or hfq (or absent for the stored, unadjusted prices)"),
    };

    /// <summary>
    /// The adjusted read of <paramref name="table"/> by <paramref name="method"/>, or null when none is asked for.
    /// 422 when the table declares no such adjustment or a filter or the sort is on a price column (they would
    /// act on the stored prices, not on the ones shown); 409 when the factor table is not there yet or cannot
    /// give one factor per key and day.
    /// </summary>
    public async Task<AdjustedRead?> PlanAsync(string? method, ManagedTable table, IReadOnlyList<ColumnFilter> filters, TableColumn sortColumn, CancellationToken ct)
    {
        if (method is null) return null;
        var declared = await DeclarationAsync(table.Name, ct)
            ?? throw ApiError.Validation("adjust", $"{table.Name} declares no price adjustment: its data script has no \"adjustment\"");
        var series = declared.For(method)
            ?? throw ApiError.Validation("adjust", $"{table.Name} declares no {method} factors (its script's adjustment has {(declared.Qfq is null ? PriceAdjustments.Hfq : PriceAdjustments.Qfq)} only)");

        var conflict = $"{table.Name}'s script declares";
        var prices = declared.PriceColumns.Select(p => Column(table.Columns, p, $"{conflict} the price column {p}")).ToList();
        var date = Column(table.Columns, declared.DateColumn, $"{conflict} the date column {declared.DateColumn}");
        var keys = declared.KeyColumns.Select(k => Column(table.Columns, k, $"{conflict} the key column {k}")).ToList();
        if (filters.FirstOrDefault(f => prices.Contains(f.Column)) is { } priceFilter)
        {
            throw ApiError.Validation($"filter[{priceFilter.Column.OriginalName}]", "with adjust, a price column cannot be filtered: the filter would apply to the stored, unadjusted prices");
        }

        if (prices.Contains(sortColumn))
        {
            throw ApiError.Validation("sort_by", "with adjust, rows cannot be sorted by a price column: they would come in the order of the stored, unadjusted prices");
        }

        var factors = await FactorTableAsync(series, method, ct);
        var factorOf = $"the {method} factor table {series.Table} has no column";
        var factor = Column(factors.Table.Columns, series.FactorColumn, $"{factorOf} {series.FactorColumn}");
        var factorDate = Column(factors.Table.Columns, series.DateColumn ?? declared.DateColumn, $"{factorOf} {series.DateColumn ?? declared.DateColumn}");
        var factorKeys = (series.KeyColumns ?? declared.KeyColumns).Select(k => Column(factors.Table.Columns, k, $"{factorOf} {k}")).ToList();
        var keySet = factorKeys.Append(factorDate).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        if (!factors.Indexes.Any(i => i.Unique && i.Columns.Count == keySet.Count && i.Columns.All(keySet.Contains)))
        {
            throw ApiError.Conflict($"the {method} factor table {series.Table} has no unique key on ({string.Join(", ", keySet)}): it must hold one factor per key and day (write it with upsert on those columns)");
        }

        var quotedFactors = ColumnNames.Quote(factors.Table.Name);
        var (qDate, qFactorDate, qFactor) = (ColumnNames.Quote(date.Name), ColumnNames.Quote(factorDate.Name), ColumnNames.Quote(factor.Name));
        var operation = series.Apply == PriceAdjustments.Divide ? "/" : "*";
        var shown = table.Columns.Where(c => !ManagedTables.Hidden.Contains(c.Name))
            .Select(c => prices.Contains(c) ? c with { Type = "DOUBLE" } : c).ToList();
        string SelectList(Func<string, string> adjusted) => string.Join(", ", shown.Select(c => prices.Any(p => p.Name == c.Name)
            ? $"{adjusted("t." + ColumnNames.Quote(c.Name))} AS {ColumnNames.Quote(c.Name)}"
            : "t." + ColumnNames.Quote(c.Name)));

        var keyMatch = string.Concat(keys.Select((k, i) => $"fm.{ColumnNames.Quote(factorKeys[i].Name)} = t.{ColumnNames.Quote(k.Name)} AND "));
        var lookup = $"(SELECT fm.{qFactor} FROM {quotedFactors} fm WHERE {keyMatch}fm.{qFactorDate} <= t.{qDate} ORDER BY fm.{qFactorDate} DESC LIMIT 1)";
        var partition = factorKeys.Count == 0 ? "" : "PARTITION BY " + string.Join(", ", factorKeys.Select(k => "f." + ColumnNames.Quote(k.Name))) + " ";
        var intervals = $"SELECT {string.Concat(factorKeys.Select((k, i) => $"f.{ColumnNames.Quote(k.Name)} AS _k{i}, "))}f.{qFactorDate} AS _since, "
            + $"LEAD(f.{qFactorDate}) OVER ({partition}ORDER BY f.{qFactorDate}) AS _until, f.{qFactor} AS _factor FROM {quotedFactors} f";
        var join = $" LEFT JOIN ({intervals}) fa ON {string.Concat(keys.Select((k, i) => $"fa._k{i} = t.{ColumnNames.Quote(k.Name)} AND "))}"
            + $"fa._since <= t.{qDate} AND (fa._until IS NULL OR t.{qDate} < fa._until)";
        return new AdjustedRead(SelectList(price => $"{price} {operation} {lookup}"), SelectList(price => $"{price} {operation} fa._factor"), join, shown);
    }

    private async Task<PriceAdjustment?> DeclarationAsync(string table, CancellationToken ct)
    {
        if (declarations.TryGetValue(table, out var known) && time.GetElapsedTime(known.ReadAt) < DeclarationLifetime) return known.Adjustment;
        var readAt = time.GetTimestamp();
        var adjustment = await scripts.AdjustmentOfAsync(table, ct);
        if (declarations.Count > 10_000) declarations.Clear();
        declarations[table] = (adjustment, readAt);
        return adjustment;
    }

    private async Task<ManagedTables.Shape> FactorTableAsync(FactorSeries series, string method, CancellationToken ct)
    {
        try
        {
            return await tables.ShapeAsync(series.Table, ct);
        }
        catch (ApiError e) when (e.Status == 404)
        {
            throw ApiError.Conflict($"the {method} factors are not collected yet: {series.Table} does not exist (run the data script that fills it)");
        }
    }

    /// <summary>A declared column by its AKShare or SQL name; a declared column the table lacks is a 409 (the table
    /// is not what its script says, e.g. it has had no rows yet).</summary>
    private static TableColumn Column(IReadOnlyList<TableColumn> columns, string name, string missing) =>
        columns.FirstOrDefault(c => c.OriginalName == name) ?? columns.FirstOrDefault(c => c.Name == name)
        ?? throw ApiError.Conflict(missing + " (not in the table)");
}
