using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>Configuration section <c>Health</c>.</summary>
public sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>A close that moved more than this share from the key's close before is a finding (0.5: 50 %, qlib's check).</summary>
    public double MoveLimit { get; set; } = 0.5;

    /// <summary>A run that wrote rows of more keys than this has the whole table checked instead of the keys it wrote.</summary>
    public int MaxTouchedKeys { get; set; } = 1000;
}

/// <summary>
/// What explains a key's large move on a day, so it is no finding: a change of its adjustment factor on that day
/// (<see cref="FactorMoveExplanation"/>), or a revision of the key's history (not built yet: the revisions register
/// theirs as <c>services.AddSingleton&lt;IMoveExplanation, ...&gt;()</c>). Every registered one is asked.
/// </summary>
public interface IMoveExplanation
{
    /// <summary>The test for <paramref name="table"/>'s keys (named by their key JSON, <see cref="CoverageFigures.KeyJson"/>) and days within
    /// <paramref name="scope"/>: true when the day's move is explained.</summary>
    Task<Func<string, DateOnly, bool>> ExplainedAsync(string table, HealthScope scope, CancellationToken ct);
}

/// <summary>A table's health as of its last check: when, the findings in all and per rule (every rule named, 0 when none).</summary>
public sealed record TableHealthSummary(DateTime? CheckedAt, long Findings, IReadOnlyDictionary<string, long> Counts);

/// <summary>
/// The health checks of warehouse tables (<see cref="HealthRules"/>): after every run of the engine that wrote a
/// table, on the rows it wrote (the keys it wrote, from the earliest day it wrote; the whole table the first time, or
/// when it wrote many keys), and on demand (GET /api/tables/{table}/health). Findings are kept (<see cref="HealthStore"/>);
/// their counts per rule are the metric akshareweb_table_health_findings{table,rule}.
/// </summary>
public sealed class TableHealth
{
    private readonly ManagedTables tables;
    private readonly WarehouseTables registry;
    private readonly WarehouseDatabase warehouse;
    private readonly DataScriptLibrary scripts;
    private readonly TradingCalendar calendar;
    private readonly MarketTime market;
    private readonly HealthStore store;
    private readonly IReadOnlyList<IMoveExplanation> explanations;
    private readonly HealthOptions options;
    private readonly TimeProvider time;
    private readonly ILogger<TableHealth> logger;
    private readonly CancellationToken stopping;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> gates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, long>> counts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTime? Stamp, DateOnly Day)> recent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTime?> inapplicable = new(StringComparer.Ordinal);

    public TableHealth(ManagedTables tables, WarehouseTables registry, WarehouseDatabase warehouse, DataScriptLibrary scripts, TradingCalendar calendar, MarketTime market,
        HealthStore store, IEnumerable<IMoveExplanation> explanations, IOptions<HealthOptions> options, TableChanges writes, AkshareMetrics metrics, TimeProvider time,
        IHostApplicationLifetime lifetime, ILogger<TableHealth> logger)
    {
        // The check after a run has no caller to wait for it: it ends with the service, so no query of it outlives the
        // service and holds a table's metadata lock against a DROP or an ALTER (seen as a DROP DATABASE timing out).
        stopping = lifetime.ApplicationStopping;
        (this.tables, this.registry, this.warehouse, this.scripts, this.calendar, this.market, this.store) = (tables, registry, warehouse, scripts, calendar, market, store);
        (this.explanations, this.options, this.time, this.logger) = (explanations.ToList(), options.Value, time, logger);
        writes.RunWrote += (table, executionId) => _ = AfterRunAsync(table, executionId);
        metrics.Meter.CreateObservableGauge("akshareweb.table.health.findings", Observe,
            description: "Health findings of each checked table by rule (missing_price, non_positive_price, high_below_low, outside_range, large_move, zero_volume, future_date, non_trading_day), as of its last check");
    }

    public double MoveLimit => options.MoveLimit;

    public Task<HealthShape> ShapeAsync(string table, CancellationToken ct) => HealthShape.ResolveAsync(tables, registry, warehouse, scripts, table, ct);

    /// <summary>
    /// Makes the kept findings of the days from <paramref name="from"/> to <paramref name="to"/> current: nothing to do
    /// when the table's last whole check saw it as it is today (or this range was just checked so); otherwise checks
    /// them now (the whole table without a range, which then counts as its whole check).
    /// </summary>
    public async Task EnsureCurrentAsync(HealthShape shape, DateOnly? from, DateOnly? to, CancellationToken ct)
    {
        var (stamp, today) = (shape.Coverage.Table.LastUpdatedAt, market.Today);
        if (await store.MarkAsync(shape.Name, ct) is { } mark && mark.TableUpdatedAt == stamp && mark.MarketDay == today) return;
        var range = $"{warehouse.ConnectionString}\u001e{shape.Name}\u001e{from}\u001e{to}";
        if (recent.TryGetValue(range, out var seen) && seen == (stamp, today)) return;
        var gate = Gate(shape.Name);
        await gate.WaitAsync(ct);
        try
        {
            await CheckAsync(shape, new HealthScope(from, to, null), from is null && to is null, ct);
        }
        finally
        {
            gate.Release();
        }

        if (recent.Count > 1_000) recent.Clear();
        recent[range] = (stamp, today);
    }

    /// <summary>The table's health as kept; null when it was never checked. A table never checked has a whole check
    /// started in the background, unless it is known to have nothing to check (no date in its key, no bars) as it is.</summary>
    public async Task<TableHealthSummary?> SummaryAsync(string table, DateTime? stamp, CancellationToken ct)
    {
        var mark = await store.MarkAsync(table, ct);
        var found = await store.CountsAsync(table, null, null, ct);
        if (mark is null && found.Count == 0)
        {
            if (!(inapplicable.TryGetValue(Key(table), out var known) && known == stamp)) _ = AfterRunAsync(table, null);
            return null;
        }

        var all = HealthRules.All.ToDictionary(r => r, r => found.GetValueOrDefault(r), StringComparer.Ordinal);
        counts[Key(table)] = all;
        return new TableHealthSummary(mark?.CheckedAt, all.Values.Sum(), all);
    }

    /// <summary>Checks <paramref name="scope"/> now and keeps its findings; with <paramref name="whole"/>, as the table's whole check.</summary>
    public async Task CheckAsync(HealthShape shape, HealthScope scope, bool whole, CancellationToken ct)
    {
        var stamp = shape.Coverage.Table.LastUpdatedAt;
        var view = await calendar.CurrentAsync(ct);
        var today = market.Today;
        var tests = new List<Func<string, DateOnly, bool>>();
        foreach (var explanation in explanations) tests.Add(await explanation.ExplainedAsync(shape.Name, scope, ct));
        var context = new HealthRules.Context(view.Days, today, options.MoveLimit, shape.Coverage.DateColumn.Type == "DATE",
            (key, day) => tests.Any(t => t(key, day)));
        var checkedAt = time.GetUtcNow().UtcDateTime;
        await using var connection = await warehouse.OpenAsync(ct);
        await store.ReplaceAsync(shape.Name, scope, FindingsAsync(connection, shape, scope, context, ct),
            whole ? new HealthCheckMark(checkedAt, stamp, today) : null, ct);
        var found = await store.CountsAsync(shape.Name, null, null, ct);
        counts[Key(shape.Name)] = HealthRules.All.ToDictionary(r => r, r => found.GetValueOrDefault(r), StringComparer.Ordinal);
    }

    /// <summary>The findings of <paramref name="scope"/>, each with its key JSON, as the rows come from the database.</summary>
    public static async IAsyncEnumerable<(HealthFinding, string)> FindingsAsync(MySqlConnection connection, HealthShape shape, HealthScope scope, HealthRules.Context context,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        // A run's keys are one query; anything more is read a slice of keys at a time (each key whole in its slice).
        var slices = scope.Keys is null ? await HealthQuery.SlicesAsync(connection, shape.Coverage, ct) : [null];
        foreach (var slice in slices)
        {
            await foreach (var row in HealthQuery.CandidatesAsync(connection, shape, scope with { Slice = slice }, context.Days, context.Today, context.MoveLimit, ct))
            {
                var keyJson = CoverageFigures.KeyJson(shape.Coverage, row.Key);
                foreach (var finding in HealthRules.Judge(shape, row, keyJson, context)) yield return (finding, keyJson);
            }
        }
    }

    /// <summary>
    /// After a run wrote the table (<paramref name="executionId"/>; null: no run, a table never checked): the keys it
    /// wrote are checked from the earliest day it wrote, the whole table when it was never checked or the run wrote
    /// more than <see cref="HealthOptions.MaxTouchedKeys"/> keys. One check at a time per table; failures are logged.
    /// </summary>
    public async Task AfterRunAsync(string table, string? executionId)
    {
        await Task.Yield();
        var gate = Gate(table);
        try
        {
            await gate.WaitAsync(stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            var shape = await ShapeAsync(table, stopping);
            var mark = await store.MarkAsync(table, stopping);
            if (mark is null || executionId is null)
            {
                if (mark is null) await CheckAsync(shape, HealthScope.Whole, whole: true, stopping);
                return;
            }

            List<TouchedKey> touched;
            await using (var connection = await warehouse.OpenAsync(stopping))
            {
                touched = await HealthQuery.TouchedAsync(connection, shape.Coverage, executionId, stopping);
            }

            if (touched.Count > options.MaxTouchedKeys)
            {
                await CheckAsync(shape, HealthScope.Whole, whole: true, stopping);
                return;
            }

            foreach (var chunk in touched.Chunk(200)) await CheckAsync(shape, new HealthScope(null, null, chunk), whole: false, stopping);
            await store.CarryMarkAsync(table, shape.Coverage.Table.LastUpdatedAt, market.Today, stopping);
        }
        catch (ApiError e) when (e.Status is 404 or 422)
        {
            // No date in its key, no bars, or gone: nothing to check until a run changes the table.
            logger.LogDebug("{Table} is not checked for health: {Reason}", table, e.Message);
            if (e.Status == 422) await RememberInapplicableAsync(table);
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            // The service stops: the next run or request checks again.
        }
        catch (Exception e)
        {
            // In the background nobody waits for it: the findings stay as they were, the next run or request checks again.
            logger.LogWarning(e, "Checking the health of {Table} failed", table);
        }
        finally
        {
            gate.Release();
        }
    }

    // Called from a catch of a check nobody awaits: whatever this lookup throws must end here, or it goes unobserved.
    private async Task RememberInapplicableAsync(string table)
    {
        try
        {
            inapplicable[Key(table)] = (await registry.FindAsync(table, stopping))?.LastUpdatedAt;
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Looking up {Table} after its health check failed", table);
        }
    }

    /// <summary>Reads every table's kept counts (at start), for the metric.</summary>
    public async Task LoadCountsAsync(CancellationToken ct)
    {
        foreach (var group in (await store.AllCountsAsync(ct)).GroupBy(c => c.Table, StringComparer.Ordinal))
        {
            counts[Key(group.Key)] = HealthRules.All.ToDictionary(r => r, r => group.Where(c => c.Rule == r).Sum(c => c.Count), StringComparer.Ordinal);
        }
    }

    private SemaphoreSlim Gate(string table) => gates.GetOrAdd(Key(table), _ => new SemaphoreSlim(1, 1));

    private string Key(string table) => warehouse.ConnectionString + "\u001e" + table;

    private IEnumerable<Measurement<long>> Observe()
    {
        var prefix = warehouse.ConnectionString + "\u001e";
        return counts.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal))
            .SelectMany(e => e.Value.Select(r => new Measurement<long>(r.Value,
                new KeyValuePair<string, object?>("table", e.Key[prefix.Length..]), new KeyValuePair<string, object?>("rule", r.Key))))
            .ToList();
    }
}

/// <summary>At start: the kept counts for the metric, and a whole check of every table never checked, one at a time.</summary>
public sealed class HealthKeeper(WarehouseTables registry, TableHealth health, HealthStore store, TimeProvider time, ILogger<HealthKeeper> logger)
    : BackgroundLoop(time, logger)
{
    private bool done;

    protected override string Work => "Checking the tables' health";

    protected override TimeSpan Interval => TimeSpan.FromMinutes(5);

    protected override LogLevel OutageLevel => LogLevel.Debug;

    protected override bool IsOutage(Exception e) => base.IsOutage(e) || e is InvalidOperationException;

    protected override async Task RoundAsync(CancellationToken ct)
    {
        if (done) return;
        await health.LoadCountsAsync(ct);
        foreach (var table in await registry.NamesAsync(ct))
        {
            if (await store.MarkAsync(table, ct) is null) await health.AfterRunAsync(table, null);
        }

        done = true;
    }
}
