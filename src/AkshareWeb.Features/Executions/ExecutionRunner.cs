using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>How a run ended.</summary>
public sealed record ExecutionOutcome(string Status, long RowsAffected, string? Error);

/// <summary>
/// Runs one execution, claimed for this instance by <see cref="RunAdmission"/>: streams the rows from
/// AKTools, writes them batch by batch with progress, and records a truthful end: completed only when every
/// row was written. While it runs, its <see cref="ExecutionHeartbeat"/> beats (so a crashed worker is noticed)
/// and brings a cancel; what stopped a run becomes its status through <see cref="RunFailures"/>. A run over
/// parameter sources is handed to <see cref="PartedRunner"/> once claimed.
/// </summary>
public sealed partial class ExecutionRunner(
    Database database, ExecutionStore store, AkToolsClient akTools, WarehouseWriter writer, TimeProvider time, ILogger<ExecutionRunner> logger,
    TableChanges writes, RunAdmission admission, AkshareMetrics metrics, PartedRunner parted, SiteRates rates, WarehouseTables tables, IScriptHealth scripts)
{
    /// <summary>
    /// How long the end of a run waits for a database that stopped answering, retrying its record: past this the
    /// record stays 'running' and the watchdog's word is the last one.
    /// </summary>
    public static readonly TimeSpan RecordPatience = TimeSpan.FromMinutes(10);

    public const int BatchSize = 20_000;
    /// <summary>Rows with long texts make smaller batches: about this many bytes of values at most.</summary>
    public const int BatchBytes = 16 << 20;

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
            var problem = $"the data script {plan.ScriptId} is broken: {broken}";
            await store.FailAsync(executionId, problem);
            return new ExecutionOutcome(ExecutionStatuses.Failed, 0, problem);
        }

        var family = await FamilyAsync(plan, ct);
        metrics.Started(plan);
        var single = new SingleRun(executionId, plan);
        await CollectAsync(single, broken, family, timeout, ct);
        await CloseWriteAsync(single);
        return await RecordEndAsync(single);
    }

    /// <summary>What one single run has done so far: read by its heartbeat, completed step by step, then recorded.</summary>
    private sealed class SingleRun(string executionId, ExecutionPlan plan)
    {
        public string ExecutionId { get; } = executionId;
        public ExecutionPlan Plan { get; } = plan;
        public Stopwatch Watch { get; } = Stopwatch.StartNew();
        public RunProgress Progress { get; } = new();
        public Dictionary<string, object?> Result { get; } = new();
        public TableWrite? Write { get; set; }
        public string Status { get; set; } = ExecutionStatuses.Completed;
        public string? Error { get; set; }
        public long RowsBefore { get; set; }
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

            AkToolsClient.Answer? answer = null;
            try
            {
                answer = await akTools.FetchAsync(plan.InterfaceName, plan.Parameters, run.Token, family: family);
            }
            catch (AkToolsException e) when (e.EmptyResult)
            {
                single.Result["message"] = e.Message;
            }

            var write = single.Write = await writer.OpenAsync(plan.Destination, single.ExecutionId, run.Token);
            single.RowsBefore = write.RowsBefore;
            if (answer is not null)
            {
                using (answer)
                {
                    await ReadAndWriteAsync(answer, plan, write, progress, run.Token);
                }
            }

            single.RowsAfter = await write.FinishAsync(run.Token);
            progress.Inserted -= write.DuplicatesRemoved;
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
    /// Ends the table write: a failed run's staging is dropped (its counts taken again), what the write did to the
    /// table goes into the result, and readers that cached the table's columns and indexes are told.
    /// </summary>
    private async Task CloseWriteAsync(SingleRun single)
    {
        if (single.Write is not { } write) return;
        try
        {
            if (single.Status != ExecutionStatuses.Completed)
            {
                await write.AbandonAsync();
                single.Progress.Inserted -= write.DuplicatesRemoved;
                // A replace run that fails leaves the table as it was: nothing it loaded stays.
                if (single.Plan.WriteMode == WriteModes.Replace) (single.Progress.Inserted, single.Progress.Updated, single.Progress.Written) = (0, 0, 0);
                single.RowsAfter = await CountQuietlyAsync(write);
            }
        }
        catch (Exception e) when (e is MySqlException or InvalidOperationException or IOException)
        {
            // The database is what failed the run: the clean-up waits for the next run on the table.
            logger.LogWarning(e, "Cleaning up after execution {ExecutionId} failed", single.ExecutionId);
        }

        single.Result["columns_added"] = write.ColumnsAdded;
        single.Result["columns_widened"] = write.ColumnsWidened;
        if (write.KeyRebuilt)
        {
            single.Result["key_rebuilt"] = single.Plan.KeyColumns;
            single.Result["earlier_duplicates_removed"] = write.EarlierDuplicatesRemoved;
        }

        try
        {
            await write.DisposeAsync();
        }
        catch (Exception e) when (e is MySqlException or IOException)
        {
            logger.LogDebug(e, "Closing the write connection of execution {ExecutionId} failed", single.ExecutionId);
        }

        // Readers must see what this run made of the table as soon as the run reads as ended.
        writes.NotifyShapeChanged(single.Plan.TargetTable);
    }

    /// <summary>Counts the run, records its end (the record waits out a short database outage), then builds the
    /// indexes readers asked for in the background.</summary>
    private async Task<ExecutionOutcome> RecordEndAsync(SingleRun single)
    {
        var (plan, progress, result, status) = (single.Plan, single.Progress, single.Result, single.Status);
        var error = single.Error;
        if (error is not null && progress.Affected > 0)
        {
            error += $" ({progress.Affected} rows of the batches before the failure were written and stay)";
        }

        result.TryAdd("message", status != ExecutionStatuses.Completed ? error
            : progress.Fetched == 0 ? "AKShare returned an empty table for these parameters: 0 rows" : "success");
        result["rows_fetched"] = progress.Fetched;
        result["rows_inserted"] = progress.Inserted;
        result["rows_updated"] = progress.Updated;
        result["rows_unchanged"] = Math.Max(0, progress.Written - progress.Affected);
        result["table_name"] = plan.TargetTable;
        var end = new RunEnd(status, time.GetUtcNow().UtcDateTime, Math.Round(single.Watch.Elapsed.TotalSeconds, 3),
            status == ExecutionStatuses.Completed ? 100 : progress.Percent, progress.Fetched, single.RowsBefore, single.RowsAfter,
            progress.Inserted, progress.Updated, JsonSerializer.Serialize(result), error);
        // Counted before the record: whoever sees the run ended finds it counted.
        metrics.Finished(plan, status, progress.Fetched, progress.Affected);
        await RecordAsync(single.ExecutionId, end);
        logger.LogInformation("Execution {ExecutionId} ended {Status}: {Affected} rows affected in {Seconds:0.0} s",
            single.ExecutionId, status, progress.Affected, single.Watch.Elapsed.TotalSeconds);
        var laterIndexes = single.Write?.BrowsingIndexes ?? [];
        var wrote = progress.Affected > 0 || single.Write?.TableCreated == true;
        if (laterIndexes.Count > 0 || wrote) _ = AfterRunAsync(plan.TargetTable, laterIndexes, wrote ? single.ExecutionId : null);
        return new ExecutionOutcome(status, progress.Affected, error);
    }

    /// <summary>
    /// The run's record, written whatever happened to the database meanwhile: a database that stopped answering
    /// is waited for (retries with backoff, for <see cref="RecordPatience"/> at most), so the run ends with its
    /// own cause and not with the watchdog's guess.
    /// </summary>
    private async Task RecordAsync(string executionId, RunEnd end)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.EndAsync(executionId, end);
                if (attempt > 1) logger.LogInformation("Recorded the end of execution {ExecutionId} once the database answered again ({Attempts} attempts)", executionId, attempt);
                return;
            }
            catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException && time.GetElapsedTime(started) < RecordPatience)
            {
                if (attempt == 1) logger.LogWarning(e, "Recording the end of execution {ExecutionId} failed; retrying until the database answers", executionId);
                await Task.Delay(delay, time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>
    /// After the record: the date indexes the run left for later (off the run's clock; a failure is only logged),
    /// then word to the readers of the table that it changed.
    /// </summary>
    private Task AfterRunAsync(string table, IReadOnlyList<ReaderIndex> indexes, string? executionId) =>
        AfterRunAsync(writer, writes, logger, table, indexes, executionId);

    /// <summary>Shared with parted runs, which end the same way. <paramref name="executionId"/>: the run, when it wrote rows.</summary>
    internal static async Task AfterRunAsync(
        WarehouseWriter writer, TableChanges? writes, ILogger logger, string table, IReadOnlyList<ReaderIndex> indexes, string? executionId)
    {
        await Task.Yield();
        try
        {
            await writer.AddIndexesAsync(table, indexes, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Indexes {Indexes} of {Table} were not built; the next run on the table tries again", string.Join(", ", indexes.Select(i => i.Name)), table);
        }

        writes?.NotifyRowsChanged(table, executionId);
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
