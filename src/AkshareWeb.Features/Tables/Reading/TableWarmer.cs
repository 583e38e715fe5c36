using System.Collections.Concurrent;
using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// Readies a large table for deep pages before anyone asks, so that no request has to count a million rows or
/// walk half an index: the exact total and the page positions of every indexed order (id, and each index's first
/// column), both directions. Runs when the engine has written the table (<see cref="TableChanges"/>), when the
/// service starts, and when a check finds that the table changed by other means (<see cref="Revalidate"/>).
/// One warm at a time per table; a write during a warm makes it run again once done.
/// </summary>
public sealed class TableWarmer
{
    /// <summary>Smaller tables page fast without: a page skips at most this many index entries anyway.</summary>
    public const long Threshold = 100_000;

    private readonly ManagedTables tables;
    private readonly WarehouseDatabase warehouse;
    private readonly TableReadCache cache;
    private readonly ILogger<TableWarmer> logger;
    private readonly ConcurrentDictionary<string, int> requested = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTime?> warmed = new(StringComparer.Ordinal);

    public TableWarmer(ManagedTables tables, WarehouseDatabase warehouse, TableReadCache cache, TableChanges writes, ILogger<TableWarmer> logger)
    {
        (this.tables, this.warehouse, this.cache, this.logger) = (tables, warehouse, cache, logger);
        writes.RowsChanged += Warm;
    }

    /// <summary>The tables warmed so far, each with the last_updated_at it was warmed for.</summary>
    public IReadOnlyDictionary<string, DateTime?> Warmed => warmed;

    /// <summary>Warms the table in the background.</summary>
    public void Warm(string table)
    {
        if (requested.AddOrUpdate(table, 1, (_, n) => n + 1) > 1) return;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var seen = requested[table];
                await WarmQuietlyAsync(table, CancellationToken.None);
                if (requested.TryRemove(KeyValuePair.Create(table, seen))) break;
            }
        });
    }

    /// <summary>
    /// Counts the table again in the background; when the count differs from the cached one (rows written or
    /// deleted by other means than the engine), everything cached about the table goes and a large table is
    /// warmed again.
    /// </summary>
    public void Revalidate(string table) => _ = Task.Run(async () =>
    {
        try
        {
            var managed = await tables.ResolveAsync(table, CancellationToken.None);
            await using var connection = await warehouse.OpenAsync(CancellationToken.None);
            var tableKey = TableReadCache.TableKey(warehouse.ConnectionString, managed.Name);
            var countKey = TableReadCache.CountKey(tableKey, "");
            var known = cache.Known(countKey, managed.LastUpdatedAt);
            var counted = await CountAsync(connection, managed.Name, CancellationToken.None);
            if (known == counted) return;
            cache.Invalidate(tableKey);
            await cache.TotalAsync(countKey, managed.LastUpdatedAt, () => Task.FromResult(counted));
            if (counted >= Threshold) Warm(table);
        }
        catch (Exception e) when (e is MySqlException or ApiError or InvalidOperationException || Failover.IsUnavailable(e))
        {
            logger.LogDebug(e, "Checking {Table} for changes failed", table);
        }
    });

    public async Task WarmQuietlyAsync(string table, CancellationToken ct)
    {
        try
        {
            await WarmAsync(table, ct);
        }
        catch (Exception e) when (e is MySqlException or ApiError or InvalidOperationException || Failover.IsUnavailable(e))
        {
            logger.LogWarning(e, "Warming {Table} for reading failed; its first deep pages will look positions up themselves", table);
        }
    }

    private async Task WarmAsync(string table, CancellationToken ct)
    {
        var managed = await tables.ResolveAsync(table, ct);
        await using var connection = await warehouse.OpenAsync(ct);
        var quoted = ColumnNames.Quote(managed.Name);
        var countKey = TableReadCache.CountKey(TableReadCache.TableKey(warehouse.ConnectionString, managed.Name), "");
        var total = await cache.TotalAsync(countKey, managed.LastUpdatedAt, () => CountAsync(connection, managed.Name, ct));
        if (total < Threshold) return;
        var started = TimeProvider.System.GetTimestamp();
        var indexes = await ManagedTables.IndexesAsync(connection, managed.Name, ct);
        var sortColumns = indexes.Select(i => i.Columns[0]).Prepend("id").Distinct(StringComparer.Ordinal)
            .Where(c => !ManagedTables.Hidden.Contains(c))
            .Select(c => managed.Columns.FirstOrDefault(t => t.Name == c))
            .OfType<TableColumn>();
        var orders = 0;
        foreach (var column in sortColumns)
        {
            foreach (var direction in new[] { "ASC", "DESC" })
            {
                var plan = ManagedTables.Sort(column, direction, managed.Columns, indexes);
                if (!plan.Indexed) continue;
                var positions = cache.Positions(TableReadCache.PositionsKey(countKey, plan), managed.LastUpdatedAt, total);
                // An offset past the end: every position is looked up.
                await positions.SeekAsync(connection, quoted, plan, [], total + positions.Step, ct);
                orders++;
            }
        }

        warmed[managed.Name] = managed.LastUpdatedAt;
        logger.LogInformation("Warmed {Table} for reading: {Total} rows, {Orders} orders in {Milliseconds:0} ms",
            managed.Name, total, orders, TimeProvider.System.GetElapsedTime(started).TotalMilliseconds);
    }

    private static async Task<long> CountAsync(MySqlConnection connection, string table, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(table)}", commandTimeout: 0, cancellationToken: ct));
}

/// <summary>At start, warms the managed tables big enough to need it, largest first, one at a time.</summary>
public sealed class TableWarmup(WarehouseTables registry, WarehouseDatabase warehouse, TableWarmer warmer, TimeProvider time, ILogger<TableWarmup> logger)
    : BackgroundLoop(time, logger)
{
    protected override string Work => "Warming the tables at start (their first deep pages look positions up themselves)";

    // Once, at start.
    protected override TimeSpan Interval => Timeout.InfiniteTimeSpan;

    // Whatever failed (the database, most likely), it costs the first deep pages some speed, nothing more.
    protected override bool IsOutage(Exception e) => true;

    protected override async Task RoundAsync(CancellationToken ct)
    {
        var names = await registry.NamesAsync(ct);
        if (names.Count == 0) return;
        await using var connection = await warehouse.OpenAsync(ct);
        // TABLE_ROWS is InnoDB's estimate: enough to choose which tables to count exactly.
        var large = await connection.QueryAsync<string>(new CommandDefinition("""
            SELECT TABLE_NAME FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN @names AND TABLE_ROWS >= @threshold ORDER BY TABLE_ROWS DESC
            """, new { names, threshold = TableWarmer.Threshold / 2 }, cancellationToken: ct));
        foreach (var table in large)
        {
            await warmer.WarmQuietlyAsync(table, ct);
        }
    }
}
