using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Notifications;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// Each table's coverage summary over its whole history (<c>coverage</c> in GET /api/tables/ and
/// GET /api/tables/{table}, and the metric akshareweb_table_missing_days), kept like the exact total: computed after
/// every run of the engine on the table (<see cref="TableChanges"/>), at start, and again for every table when the
/// last expected day moves (a market close has passed), and valid while the table's last_updated_at is the one it
/// was computed for. The list answers what is known and has the rest computed in the background; a single table's
/// view computes it when it is not known. The computation that follows a run of the engine on a table is also its
/// check: a table with new gaps is told as table_gaps (<see cref="TellGapsAsync"/>), and confirmed-empty marks on days
/// that have a row now are taken off.
/// </summary>
public sealed class CoverageSummaries
{
    private readonly CoverageReader reader;
    private readonly ManagedTables tables;
    private readonly WarehouseDatabase warehouse;
    private readonly TradingCalendar calendar;
    private readonly MarketTime market;
    private readonly Notifier notifier;
    private readonly ConfirmedEmptyDays marks;
    private readonly BackfillMarks backfills;
    private readonly ILogger<CoverageSummaries> logger;
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> requested = new(StringComparer.Ordinal);

    /// <summary>Tables a run wrote since their last check, and the summary each was last checked with.</summary>
    private readonly ConcurrentDictionary<string, bool> toCheck = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CoverageSummary> checkedWith = new(StringComparer.Ordinal);

    /// <summary>The keys with gaps a table_gaps notice names (the first in key order), with their missing ranges.</summary>
    public const int ExampleKeys = 5;

    /// <summary>What is known of one table: the last_updated_at it was computed for, and its summary (null: no date in its key).</summary>
    private sealed record Entry(string Table, DateTime? Stamp, CoverageSummary? Summary);

    public CoverageSummaries(CoverageReader reader, ManagedTables tables, WarehouseDatabase warehouse, TradingCalendar calendar, MarketTime market,
        TableChanges writes, AkshareMetrics metrics, Notifier notifier, ConfirmedEmptyDays marks, BackfillMarks backfills, ILogger<CoverageSummaries> logger)
    {
        (this.reader, this.tables, this.warehouse, this.calendar, this.market, this.notifier, this.marks, this.backfills, this.logger) =
            (reader, tables, warehouse, calendar, market, notifier, marks, backfills, logger);
        backfills.Marked += Refresh;
        writes.RowsChanged += table =>
        {
            toCheck[Key(table)] = true;
            Refresh(table);
        };
        metrics.Meter.CreateObservableGauge("akshareweb.table.missing_days", Observe,
            description: "Trading days (weeks, months for weekly and monthly bars) missing from each managed table with a date in its key, over its keys' whole history");
    }

    /// <summary>The last day that counts now: the last trading day whose market close has passed.</summary>
    public async Task<DateOnly?> ThroughAsync(CancellationToken ct) =>
        (await calendar.CurrentAsync(ct)).Days.LastClosed(market.Now, market.CloseTime);

    /// <summary>
    /// The summary known for the table as of <paramref name="stamp"/>, or null. An unknown one, or one computed through
    /// an earlier day than <paramref name="through"/>, is computed again in the background; the earlier one is still
    /// answered, saying through which day it counts.
    /// </summary>
    public CoverageSummary? Known(string table, DateTime? stamp, DateOnly? through)
    {
        if (entries.TryGetValue(Key(table), out var entry) && entry.Stamp == stamp)
        {
            if (entry.Summary is { } summary && summary.Through != through) Refresh(table);
            return entry.Summary;
        }

        Refresh(table);
        return null;
    }

    /// <summary>The summary for the table as of <paramref name="stamp"/>, computed now when it is not known.</summary>
    public async Task<CoverageSummary?> GetAsync(string table, DateTime? stamp, CancellationToken ct)
    {
        var through = await ThroughAsync(ct);
        if (entries.TryGetValue(Key(table), out var entry) && entry.Stamp == stamp && (entry.Summary is null || entry.Summary.Through == through)) return entry.Summary;
        try
        {
            return await ComputeAsync(table, ct);
        }
        catch (MySqlException e)
        {
            // The table's view does not fail for its coverage: it shows none, and the error is logged.
            logger.LogWarning(e, "Computing the coverage of {Table} failed", table);
            return null;
        }
    }

    /// <summary>Computes the table's summary in the background, once at a time per table (again when asked meanwhile).</summary>
    public void Refresh(string table)
    {
        if (requested.AddOrUpdate(table, 1, (_, n) => n + 1) > 1) return;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var seen = requested[table];
                try
                {
                    await ComputeAsync(table, CancellationToken.None);
                }
                catch (Exception e)
                {
                    // In the background nobody waits for it, and an escaped exception would leave the table marked as
                    // requested for good: the list shows no coverage, the error is logged, the next run tries again.
                    logger.LogWarning(e, "Computing the coverage of {Table} failed", table);
                }

                if (requested.TryRemove(KeyValuePair.Create(table, seen))) break;
            }
        });
    }

    public async Task<CoverageSummary?> ComputeAsync(string table, CancellationToken ct)
    {
        // Taken before reading: a run that ends while this reads is checked by the computation its end asks for.
        var check = toCheck.TryRemove(Key(table), out _);
        try
        {
            // A backfill that ended since leaves its marks first, so they count.
            await backfills.SettleQuietlyAsync(table, ct);
            // A page of the keys with gaps costs their dates alone beyond the summary, and names them if they are told.
            var reading = await reader.ReadAsync(table, new CoverageRequest(null, null, CoverageReader.Gaps, QueryCollection.Empty, new PageRequest(1, ExampleKeys)), ct);
            entries[Key(table)] = new Entry(table, reading.Shape.Table.LastUpdatedAt, reading.Summary);
            if (check)
            {
                // A run stored rows on days marked empty: the marks go (coverage already counts the rows).
                await marks.RemoveAsync(reading.Shape.Name, reading.Outweighed, ct);
                await TellGapsAsync(reading, ct);
            }

            return reading.Summary;
        }
        catch (ApiError e) when (e.Status == 422)
        {
            // No date in its key: nothing to count, until a run registers the table with another key.
            entries[Key(table)] = new Entry(table, (await tables.ResolveAsync(table, ct)).LastUpdatedAt, null);
            return null;
        }
        catch (ApiError e) when (e.Status == 404)
        {
            entries.TryRemove(Key(table), out _);
            return null;
        }
        catch (Exception e) when (e is not ApiError && check)
        {
            // Not read: the next computation checks instead.
            toCheck[Key(table)] = true;
            throw;
        }
    }

    /// <summary>
    /// table_gaps, after a run of the engine on the table: told when the table misses days and more of them than at
    /// its last check, or keys went stale since, or the last check counted through an earlier day (a new day's run
    /// that left keys behind). Not at a market close: between the close and the evening's run every key is one day
    /// behind, which is no finding. The notice's key is the day counted through and the figures, so the same finding
    /// is told once, by however many instances and restarts.
    /// </summary>
    private async Task TellGapsAsync(CoverageReading reading, CancellationToken ct)
    {
        var now = reading.Summary;
        var table = reading.Shape.Name;
        var before = checkedWith.GetValueOrDefault(Key(table));
        checkedWith[Key(table)] = now;
        if (now.MissingDays == 0 || now.Through is not { } through) return;
        if (before is not null && before.Through == through && before.MissingDays >= now.MissingDays && before.Stale >= now.Stale) return;

        var finding = $"{now.WithGaps} of {now.Keys} keys have gaps through {through:yyyy-MM-dd}: {now.MissingDays} trading days missing"
            + (now.Stale > 0 ? $", {now.Stale} stale" : "");
        var examples = reading.Items.Select(Example).ToList();
        if (reading.Total > reading.Items.Count)
        {
            examples.Add($"… and {reading.Total - reading.Items.Count} more keys with gaps: GET /api/tables/{table}/coverage?status=gaps");
        }

        await notifier.TableGapsAsync(table, finding, examples, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{through:yyyy-MM-dd}|{now.MissingDays}|{now.Stale}"), null, ct);
    }

    /// <summary>One key with gaps as a notice names it: <c>股票代码=000001, period=daily: 2024-05-20..2024-05-22, 2024-06-05</c>.</summary>
    private static string Example(KeyCoverage key)
    {
        const int Ranges = 3;
        var named = string.Join(", ", key.Key.Select(k => $"{k.Key}={Convert.ToString(k.Value, System.Globalization.CultureInfo.InvariantCulture)}"));
        var ranges = key.MissingRanges.Take(Ranges).Select(r => r[0] == r[1] ? $"{r[0]:yyyy-MM-dd}" : $"{r[0]:yyyy-MM-dd}..{r[1]:yyyy-MM-dd}").ToList();
        if (key.MissingRanges.Count > Ranges) ranges.Add("…");
        return $"{named}: {string.Join(", ", ranges)} ({key.MissingDays} missing{(key.Stale ? ", stale" : "")})";
    }

    /// <summary>A whole-history summary read by someone else (the coverage endpoint without range or filters).</summary>
    public void Remember(CoverageShape shape, CoverageSummary summary) => entries[Key(shape.Name)] = new Entry(shape.Name, shape.Table.LastUpdatedAt, summary);

    private string Key(string table) => warehouse.ConnectionString + "\u001e" + table;

    private IEnumerable<Measurement<long>> Observe()
    {
        var prefix = warehouse.ConnectionString + "\u001e";
        return entries.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal) && e.Value.Summary is not null)
            .Select(e => new Measurement<long>(e.Value.Summary!.MissingDays, new KeyValuePair<string, object?>("table", e.Value.Table)))
            .ToList();
    }
}

/// <summary>
/// Computes every managed table's coverage summary at start, one table at a time, and again whenever the last day
/// that counts moves (checked every minute): after a market close every table is held to one more day.
/// </summary>
public sealed class CoverageKeeper(WarehouseTables registry, CoverageSummaries summaries, TimeProvider time, ILogger<CoverageKeeper> logger)
    : BackgroundLoop(time, logger)
{
    private DateOnly? counted;

    protected override string Work => "Computing the tables' coverage";

    protected override TimeSpan Interval => TimeSpan.FromMinutes(1);

    // A summary not computed here is computed when it is next asked for: an outage is worth no warning.
    protected override LogLevel OutageLevel => LogLevel.Debug;

    protected override bool IsOutage(Exception e) => base.IsOutage(e) || e is InvalidOperationException;

    protected override async Task RoundAsync(CancellationToken ct)
    {
        var through = await summaries.ThroughAsync(ct);
        if (through == counted) return;
        foreach (var table in await registry.NamesAsync(ct))
        {
            try
            {
                await summaries.ComputeAsync(table, ct);
            }
            catch (Exception e) when (e is MySqlException or ApiError or InvalidOperationException && !ct.IsCancellationRequested)
            {
                logger.LogDebug(e, "Computing the coverage of {Table} failed; it is computed when it is next asked for", table);
            }
        }

        counted = through;
    }
}
