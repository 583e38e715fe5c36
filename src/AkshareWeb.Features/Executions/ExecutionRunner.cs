using System.Diagnostics;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Runs one execution, claimed for this instance by <see cref="RunAdmission"/>: its one call through
/// <see cref="PartRunner"/> (the rows streamed from AKTools and written batch by batch with progress), and a truthful
/// end: completed only when every row was written. While it runs, its <see cref="ExecutionHeartbeat"/> beats (so a crashed worker is noticed)
/// and brings a cancel; what stopped a run becomes its status through <see cref="RunFailures"/>, and its end is
/// recorded through <see cref="RunEnding"/>. A run over parameter sources is handed to <see cref="PartedRunner"/> once claimed.
/// </summary>
public sealed class ExecutionRunner(
    Database database, ExecutionStore store, PartRunner calls, WarehouseWriter writer, TimeProvider time, ILogger<ExecutionRunner> logger,
    TableChanges writes, RunAdmission admission, AkshareMetrics metrics, PartedRunner parted, SiteRates rates, WarehouseTables tables, IScriptHealth scripts,
    RunEnding ending)
{
    /// <summary>Why the run's script cannot run, as Scripts last found it (<see cref="IScriptHealth"/>); null when it can.</summary>
    private async Task<string?> BrokenReasonAsync(string scriptId, CancellationToken ct)
    {
        try
        {
            // A lost node is waited out like any unit of work (Failover) ...
            return await database.RetryAsync(token => scripts.BrokenReasonAsync(scriptId, token), ct);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            // ... and a database gone for longer does not fail the run here: thrown from here it would leave the claimed
            // run 'running' for the watchdog to guess about; a broken script's call fails at AKTools with its own reason,
            // and the write meets the same database as this look.
            return null;
        }
    }

    /// <summary>For the benchmarks: claims the run at once, as a download is (no slot), and runs it without a time
    /// limit; null when it was not pending.</summary>
    public async Task<ExecutionOutcome?> RunNowAsync(string executionId, CancellationToken ct)
    {
        if (await admission.AdmitAsync(executionId, RunLane.Adhoc, ct) is not Admission.Room room) return null;
        await using (room)
        {
            return await RunAsync(room.Run with { Timeout = null }, ct);
        }
    }

    /// <summary>Runs a run <see cref="RunAdmission"/> claimed for this instance, to its recorded end.</summary>
    public async Task<ExecutionOutcome> RunAsync(ClaimedRun run, CancellationToken ct)
    {
        var (executionId, plan, timeout) = (run.ExecutionId, run.Plan, run.Timeout);
        var broken = plan.ScriptId is null ? null : await BrokenReasonAsync(plan.ScriptId, ct);
        if (plan.IsParted)
        {
            // A run over parameter sources: the task's timeout applies to each part, a whole market taking as long as it takes.
            if (broken is null) return await parted.RunClaimedAsync(executionId, plan, timeout, ct);
            return await ending.FailAsync(executionId, $"the data script {plan.ScriptId} is broken: {broken}");
        }

        var family = await FamilyAsync(plan, ct);
        metrics.Started(plan);
        var single = new SingleRun(executionId, plan, new RunWrite(writer, plan, executionId, parted: false));
        await CollectAsync(single, broken, family, timeout, ct);
        var written = await CloseWriteAsync(single);
        return await RecordEndAsync(single, written);
    }

    /// <summary>What one single run has done so far: read by its heartbeat, completed step by step, then recorded.</summary>
    private sealed class SingleRun(string executionId, ExecutionPlan plan, RunWrite write)
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
    private async Task CollectAsync(SingleRun single, string? broken, string family, TimeSpan? timeout, CancellationToken ct)
    {
        var (plan, progress) = (single.Plan, single.Progress);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var cancelled = false;
        if (timeout is { } limit) run.CancelAfter(limit);
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = new ExecutionHeartbeat(store, database, time, logger).BeatAsync(single.ExecutionId, progress, async () =>
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
    private async Task<RunResult?> CloseWriteAsync(SingleRun single)
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
        catch (Exception e) when (e is MySqlException or InvalidOperationException or IOException)
        {
            // The database is what failed the run: the clean-up waits for the next run on the table.
            logger.LogWarning(e, "Cleaning up after execution {ExecutionId} failed", single.ExecutionId);
        }

        var shaped = new RunResult(null, ColumnsAdded: write.ColumnsAdded, ColumnsWidened: write.ColumnsWidened,
            KeyRebuilt: write.KeyRebuilt ? single.Plan.KeyColumns : null, EarlierDuplicatesRemoved: write.KeyRebuilt ? write.EarlierDuplicatesRemoved : null);

        try
        {
            await single.Write.DisposeAsync();
        }
        catch (Exception e) when (e is MySqlException or IOException)
        {
            logger.LogDebug(e, "Closing the write connection of execution {ExecutionId} failed", single.ExecutionId);
        }

        // Readers must see what this run made of the table as soon as the run reads as ended.
        writes.NotifyShapeChanged(single.Plan.TargetTable);
        return shaped;
    }

    /// <summary>Counts the run, records its end (the record waits out a short database outage), then builds the
    /// indexes readers asked for in the background.</summary>
    private async Task<ExecutionOutcome> RecordEndAsync(SingleRun single, RunResult? written)
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
