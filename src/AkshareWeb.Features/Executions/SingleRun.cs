using System.Diagnostics;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// A run with single values, claimed for this instance: its one call through <see cref="PartRunner"/> (the rows streamed
/// from AKTools and written batch by batch with progress) under the run's heartbeat (<see cref="ExecutionHeartbeat"/>,
/// so a crashed worker is noticed and a cancel arrives) and time limit; the write closed (a failed run's staging
/// dropped, its counts taken again); and a truthful end recorded through <see cref="RunEnding"/>: completed only when
/// every row was written. What stopped the run becomes its status through <see cref="RunFailures"/>.
/// </summary>
public sealed class SingleRun(
    Database database, ExecutionStore store, PartRunner calls, WarehouseWriter writer, TimeProvider time, ILogger<SingleRun> logger,
    TableChanges writes, AkshareMetrics metrics, SiteRates rates, WarehouseTables tables, RunEnding ending)
{
    /// <param name="broken">Why the run's data script cannot run (Scripts found it broken), or null: the run fails with it.</param>
    public async Task<ExecutionOutcome> RunAsync(ClaimedRun run, string? broken, CancellationToken ct)
    {
        var (executionId, plan) = (run.ExecutionId, run.Plan);
        var family = await FamilyAsync(plan, ct);
        metrics.Started(plan);
        var single = new State(executionId, plan, new RunWrite(writer, plan, executionId, parted: false));
        await CollectAsync(single, broken, family, run.Timeout, ct);
        var written = await CloseWriteAsync(single);
        return await RecordEndAsync(single, written);
    }

    /// <summary>What the run has done so far: read by its heartbeat, completed step by step, then recorded.</summary>
    private sealed class State(string executionId, ExecutionPlan plan, RunWrite write)
    {
        public string ExecutionId { get; } = executionId;
        public ExecutionPlan Plan { get; } = plan;
        public Stopwatch Watch { get; } = Stopwatch.StartNew();
        public PartTally Progress { get; } = new();
        public RunWrite Write { get; } = write;
        public string Status { get; set; } = ExecutionStatuses.Completed;
        public string? Error { get; set; }
        public long RowsAfter { get; set; }
    }

    // Looked up next to the claim, not between the heartbeat and the call: a run that is waiting for AKTools does
    // not otherwise need the database. The family only labels the calls counter, so a lookup that fails falls back
    // to what the function's name tells instead of failing the run.
    private async Task<string> FamilyAsync(ExecutionPlan plan, CancellationToken ct)
    {
        try
        {
            return await rates.FamilyAsync(plan.InterfaceName, ct);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            return SiteRates.FamilyOf(plan.InterfaceName, null);
        }
    }

    /// <summary>
    /// Fetches and writes under the run's heartbeat and time limit; whatever stops it becomes the run's status and
    /// reason through <see cref="RunFailures"/>.
    /// </summary>
    private async Task CollectAsync(State single, string? broken, string family, TimeSpan? timeout, CancellationToken ct)
    {
        var (plan, progress) = (single.Plan, single.Progress);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var cancelled = false;
        if (timeout is { } limit) run.CancelAfter(limit);
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = new ExecutionHeartbeat(database, time, logger).BeatAsync(single.ExecutionId,
            (connection, token) => store.BeatAsync(connection, single.ExecutionId, progress.Percent, progress.Fetched, progress.Affected, token), async () =>
        {
            cancelled = true;
            await run.CancelAsync();
        }, heartbeatStop.Token);
        try
        {
            // A script the last registry import found broken (interface or parameter gone) is not sent to AKTools,
            // whose answer would be a bare "no such interface": the run fails with the reason the import found.
            if (broken is not null)
            {
                throw new InvalidOperationException($"the data script {plan.ScriptId} is broken: {broken}");
            }

            var call = new PartCall(single.ExecutionId, plan.InterfaceName, plan.Parameters, plan.ExtraColumns, plan.DatedColumns, family, Polite: false);
            await calls.RunAsync(call, single.Write, progress, run.Token);
            var write = single.Write.Table!;
            single.RowsAfter = await write.FinishAsync(run.Token);
            progress.RemoveInserted(write.DuplicatesRemoved);
            await database.RetryAsync(token => tables.RegisterAsync(plan.Registration, progress.Affected > 0 || write.TableCreated, time.GetUtcNow().UtcDateTime, token), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || run.IsCancellationRequested)
        {
            var stop = cancelled ? RunStop.Cancelled : ct.IsCancellationRequested ? RunStop.ServiceStopping : RunStop.TimedOut;
            var failure = RunFailures.Of(e, stop, timeout);
            if (failure.Unexpected) logger.LogError(e, "Execution {ExecutionId} failed unexpectedly", single.ExecutionId);
            else if (e is MySqlException) logger.LogWarning(e, "Execution {ExecutionId} failed in the database", single.ExecutionId);
            else if (e is RowsRefusedException refused) logger.LogWarning("Execution {ExecutionId}: the database refused rows: {ServerText}", single.ExecutionId, refused.ServerText);
            (single.Status, single.Error) = (failure.Status, failure.Message);
        }
        finally
        {
            await heartbeatStop.CancelAsync();
            await heartbeat;
        }
    }

    /// <summary>
    /// Ends the table write: a failed run's staging is dropped (its counts taken again), and readers that cached the
    /// table's columns and indexes are told. Returns what the write did to the table's shape, for the result; nothing
    /// when no write was opened.
    /// </summary>
    private async Task<RunResult?> CloseWriteAsync(State single)
    {
        if (single.Write.Table is not { } write)
        {
            await single.Write.DisposeAsync();
            return null;
        }

        try
        {
            if (single.Status != ExecutionStatuses.Completed)
            {
                await write.AbandonAsync();
                single.Progress.RemoveInserted(write.DuplicatesRemoved);
                // A replace run that fails leaves the table as it was: nothing it loaded stays.
                if (single.Plan.WriteMode == WriteModes.Replace) single.Progress.DiscardWritten();
                single.RowsAfter = await CountQuietlyAsync(write);
            }
        }
        catch (Exception e) when (Database.IsOutage(e) || e is InvalidOperationException)
        {
            // The database is what failed the run: the clean-up waits for the next run on the table. (A reset connection
            // throws a bare SocketException: escaping here it would leave the run's end unrecorded for the watchdog.)
            logger.LogWarning(e, "Cleaning up after execution {ExecutionId} failed", single.ExecutionId);
        }

        var shaped = new RunResult(null, ColumnsAdded: write.ColumnsAdded, ColumnsWidened: write.ColumnsWidened,
            KeyRebuilt: write.KeyRebuilt ? single.Plan.KeyColumns : null, EarlierDuplicatesRemoved: write.KeyRebuilt ? write.EarlierDuplicatesRemoved : null);

        try
        {
            await single.Write.DisposeAsync();
        }
        catch (Exception e) when (Database.IsOutage(e) || e is InvalidOperationException)
        {
            logger.LogDebug(e, "Closing the write connection of execution {ExecutionId} failed", single.ExecutionId);
        }

        // Readers must see what this run made of the table as soon as the run reads as ended.
        writes.NotifyShapeChanged(single.Plan.TargetTable);
        return shaped;
    }

    /// <summary>Counts the run, records its end (the record waits out a short database outage), then builds the
    /// indexes readers asked for in the background.</summary>
    private async Task<ExecutionOutcome> RecordEndAsync(State single, RunResult? written)
    {
        var (plan, progress, status) = (single.Plan, single.Progress, single.Status);
        var error = single.Error;
        if (error is not null && progress.Affected > 0)
        {
            error += $" ({progress.Affected} rows of the batches before the failure were written and stay)";
        }

        // An empty answer's own words stay the message, whatever happened after it.
        var message = progress.EmptyAnswer ?? (status != ExecutionStatuses.Completed ? error
            : progress.Fetched == 0 ? "AKShare returned an empty table for these parameters: 0 rows" : "success");
        var result = RunResult.OfSingleRun(message, plan.TargetTable, progress.Fetched, progress.Inserted, progress.Updated, progress.Written) with
        {
            ColumnsAdded = written?.ColumnsAdded,
            ColumnsWidened = written?.ColumnsWidened,
            KeyRebuilt = written?.KeyRebuilt,
            EarlierDuplicatesRemoved = written?.EarlierDuplicatesRemoved,
        };
        var end = new RunEnd(status, error, result, time.GetUtcNow().UtcDateTime, status == ExecutionStatuses.Completed ? 100 : progress.Percent,
            progress.Fetched, progress.Affected, progress.Inserted, progress.Updated, single.RowsAfter)
        {
            RowsBefore = single.Write.Table?.RowsBefore ?? 0,
            Seconds = Math.Round(single.Watch.Elapsed.TotalSeconds, 3),
        };
        // Counted before the record: whoever sees the run ended finds it counted.
        metrics.Finished(plan, status, progress.Fetched, progress.Affected);
        await ending.RecordAsync(single.ExecutionId, end);
        logger.LogInformation("Execution {ExecutionId} ended {Status}: {Affected} rows affected in {Seconds:0.0} s",
            single.ExecutionId, status, progress.Affected, single.Watch.Elapsed.TotalSeconds);
        var wrote = progress.Affected > 0 || single.Write.Table?.TableCreated == true;
        ending.AfterRecord(plan.TargetTable, single.Write.Table?.BrowsingIndexes ?? [], wrote ? single.ExecutionId : null);
        return new ExecutionOutcome(status, progress.Affected, error);
    }

    private static async Task<long> CountQuietlyAsync(TableWrite write)
    {
        try
        {
            return await write.CountRowsAsync();
        }
        catch (MySqlException)
        {
            return 0;
        }
    }
}
