using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>How a run ended.</summary>
public sealed record ExecutionOutcome(string Status, long RowsAffected, string? Error);

/// <summary>
/// Runs one execution: claims it (pending to running, so it runs once whoever calls), streams the rows from
/// AKTools, writes them batch by batch with progress, and records a truthful end: completed only when every
/// row was written. While it runs it beats a heartbeat (so a crashed worker is noticed) and polls the cancel
/// flag every second, which is how a cancel reaches it on whichever instance it runs.
/// </summary>
public sealed class ExecutionRunner(
    Database database, AkToolsClient akTools, WarehouseWriter writer, TimeProvider time, ILogger<ExecutionRunner> logger, TableWrites? writes = null,
    RunningExecutions? running = null, AkshareMetrics? metrics = null, PartedRunner? parted = null)
{
    /// <summary>
    /// How long the end of a run waits for a database that stopped answering, retrying its record: past this the
    /// record stays 'running' and the watchdog's word is the last one.
    /// </summary>
    public static readonly TimeSpan RecordPatience = TimeSpan.FromMinutes(10);

    public const int BatchSize = 20_000;
    /// <summary>Rows with long texts make smaller batches: about this many bytes of values at most.</summary>
    public const int BatchBytes = 16 << 20;
    private static readonly string Worker = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>data_scripts.broken_reason, kept by Scripts/ScriptHealth; read here by SQL so the engine does not
    /// depend on the Scripts area, which depends on it.</summary>
    private static Task<string?> BrokenReasonAsync(MySqlConnection connection, string scriptId, CancellationToken ct) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT broken_reason FROM data_scripts WHERE script_id = @scriptId", new { scriptId }, cancellationToken: ct));

    /// <summary>Null when the execution was not pending (already taken, cancelled, or unknown).</summary>
    public async Task<ExecutionOutcome?> RunAsync(string executionId, TimeSpan? timeout, CancellationToken ct)
    {
        ExecutionPlan plan;
        string? broken;
        // The claim's connection is not held through the run: a run spends most of its time on AKTools, and a
        // connection idle all that while is one the database may have dropped meanwhile.
        await using (var connection = await database.OpenAsync(ct))
        {
            var now = time.GetUtcNow().UtcDateTime;
            var claimed = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE executions SET status = 'running', start_time = @now, heartbeat_at = @now, worker = @worker, progress = 0
                WHERE execution_id = @executionId AND status = 'pending' AND cancel_requested = 0
                """, new { now, worker = Worker, executionId }, cancellationToken: ct));
            if (claimed == 0) return null;
            plan = (await ExecutionStore.LoadPlanAsync(connection, executionId, ct))!;
            broken = plan.ScriptId is null ? null : await BrokenReasonAsync(connection, plan.ScriptId, ct);
        }

        if (plan.IsParted)
        {
            // Parts keep their own heartbeats and records (PartedRunner); this connection serves only the start.
            await using var partedConnection = await database.OpenAsync(ct);
            return await RunPartedAsync(partedConnection, executionId, plan, timeout, ct);
        }

        // From here this instance holds the run: its watchdog leaves it alone whatever the heartbeat says.
        using var held = running?.Hold(executionId);
        metrics?.Started(plan);
        var watch = Stopwatch.StartNew();
        var progress = new Progress();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var stop = StopReason.None;
        if (timeout is { } limit)
        {
            run.CancelAfter(limit);
        }

        using var monitorStop = new CancellationTokenSource();
        var monitor = MonitorAsync(executionId, progress, run, () => stop = StopReason.Cancelled, monitorStop.Token);

        string status;
        string? error = null;
        long rowsBefore = 0, rowsAfter = 0;
        var result = new Dictionary<string, object?>();
        WarehouseWriter.TableWrite? write = null;
        IReadOnlyList<WarehouseWriter.BrowsingIndex> laterIndexes = [];
        try
        {
            var parameters = plan.Parameters;
            // A script the last registry import found broken (interface or parameter gone) is not sent to AKTools,
            // whose answer would be a bare "no such interface": the run fails with the reason the import found.
            if (broken is not null)
            {
                throw new InvalidOperationException($"the data script {plan.ScriptId} is broken: {broken}");
            }

            AkToolsClient.Answer? answer = null;
            try
            {
                answer = await akTools.FetchAsync(plan.InterfaceName, parameters, run.Token);
            }
            catch (AkToolsException e) when (e.EmptyResult)
            {
                result["message"] = e.Message;
            }

            write = await writer.OpenAsync(plan, executionId, run.Token);
            rowsBefore = write.RowsBefore;
            if (answer is not null)
            {
                using (answer)
                {
                    await ReadAndWriteAsync(answer, plan, write, progress, run.Token);
                }
            }

            rowsAfter = await write.FinishAsync(run.Token);
            progress.Inserted -= write.DuplicatesRemoved;
            status = "completed";
            await using (var registry = await database.OpenAsync(ct))
            {
                await RegisterTableAsync(registry, plan, progress.Inserted + progress.Updated > 0 || write.TableCreated, time.GetUtcNow().UtcDateTime, ct);
            }

        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            (status, error) = stop == StopReason.Cancelled
                ? ("cancelled", "cancelled while running")
                : ct.IsCancellationRequested
                    ? ("failed", "interrupted: the service stopped while the run was in progress")
                    : ("timeout", $"did not finish within {timeout!.Value.TotalSeconds:0} s");
        }
        catch (AkToolsException e)
        {
            (status, error) = ("failed", e.Message);
        }
        catch (MySqlException e)
        {
            (status, error) = ("failed", DatabaseCause(e));
        }
        catch (InvalidOperationException e)
        {
            (status, error) = ("failed", e.Message);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            (status, error) = ("failed", $"the database stopped answering during the run: {e.Message}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever went wrong, the record must not stay 'running': it ends failed, with the reason.
            logger.LogError(e, "Execution {ExecutionId} failed unexpectedly", executionId);
            (status, error) = ("failed", $"internal error: {e.Message}");
        }
        finally
        {
            await monitorStop.CancelAsync();
            await monitor;
        }

        if (write is not null)
        {
            try
            {
                if (status != "completed")
                {
                    await write.AbandonAsync();
                    progress.Inserted -= write.DuplicatesRemoved;
                    rowsAfter = await CountQuietlyAsync(write, plan);
                }
            }
            catch (Exception e) when (e is MySqlException or InvalidOperationException or IOException)
            {
                // The database is what failed the run: the clean-up waits for the next run on the table.
                logger.LogWarning(e, "Cleaning up after execution {ExecutionId} failed", executionId);
            }

            laterIndexes = write.BrowsingIndexes;
            result["columns_added"] = write.ColumnsAdded;
            result["columns_widened"] = write.ColumnsWidened;
            if (write.KeyRebuilt)
            {
                result["key_rebuilt"] = plan.KeyColumns;
                result["earlier_duplicates_removed"] = write.EarlierDuplicatesRemoved;
            }

            try
            {
                await write.DisposeAsync();
            }
            catch (Exception e) when (e is MySqlException or IOException)
            {
                logger.LogDebug(e, "Closing the write connection of execution {ExecutionId} failed", executionId);
            }

            // Readers that cached the table's columns and indexes must see what this run made of them as soon as
            // the run reads as ended.
            writes?.Changed(plan.TargetTable);
        }

        if (error is not null && progress.Inserted + progress.Updated > 0)
        {
            error += $" ({progress.Inserted + progress.Updated} rows of the batches before the failure were written and stay)";
        }

        result.TryAdd("message", status != "completed" ? error
            : progress.Fetched == 0 ? "AKShare returned an empty table for these parameters: 0 rows" : "success");
        result["rows_fetched"] = progress.Fetched;
        result["rows_inserted"] = progress.Inserted;
        result["rows_updated"] = progress.Updated;
        result["rows_unchanged"] = Math.Max(0, progress.Written - progress.Inserted - progress.Updated);
        result["table_name"] = plan.TargetTable;
        var end = time.GetUtcNow().UtcDateTime;
        var record = new CommandDefinition("""
            UPDATE executions SET status = @status, end_time = @end, execution_time = @seconds, progress = @finalProgress,
              rows_fetched = @fetched, rows_before = @rowsBefore, rows_after = @rowsAfter, rows_affected = @affected,
              rows_inserted = @inserted, rows_updated = @updated, result = @result, error_message = @error, heartbeat_at = @end
            WHERE execution_id = @executionId
            """, new
        {
            status,
            end,
            seconds = Math.Round(watch.Elapsed.TotalSeconds, 3),
            finalProgress = status == "completed" ? 100 : progress.Percent,
            fetched = progress.Fetched,
            rowsBefore,
            rowsAfter,
            affected = progress.Inserted + progress.Updated,
            inserted = progress.Inserted,
            updated = progress.Updated,
            result = JsonSerializer.Serialize(result),
            error,
            executionId,
        }, cancellationToken: CancellationToken.None);
        // Counted before the record: whoever sees the run ended finds it counted.
        metrics?.Finished(plan, status, progress.Fetched, progress.Inserted + progress.Updated);
        await RecordAsync(executionId, record);
        logger.LogInformation("Execution {ExecutionId} ended {Status}: {Affected} rows affected in {Seconds:0.0} s", executionId, status, progress.Inserted + progress.Updated, watch.Elapsed.TotalSeconds);
        var wrote = progress.Inserted + progress.Updated > 0 || write?.TableCreated == true;
        if (laterIndexes.Count > 0 || wrote) _ = AfterRunAsync(plan.TargetTable, laterIndexes);
        return new ExecutionOutcome(status, progress.Inserted + progress.Updated, error);
    }

    /// <summary>A run over parameter sources: the task's timeout applies to each part, a whole market taking as long as it takes.</summary>
    private async Task<ExecutionOutcome> RunPartedAsync(MySqlConnection connection, string executionId, ExecutionPlan plan, TimeSpan? timeout, CancellationToken ct)
    {
        string? problem = parted is null ? "this engine was built without parted runs" : null;
        if (problem is null && plan.ScriptId is not null && await BrokenReasonAsync(connection, plan.ScriptId, ct) is { } broken)
        {
            problem = $"the data script {plan.ScriptId} is broken: {broken}";
        }

        if (problem is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE executions SET status = 'failed', end_time = @end, error_message = @problem, result = JSON_OBJECT('message', @problem)
                WHERE execution_id = @executionId
                """, new { end = time.GetUtcNow().UtcDateTime, problem, executionId }, cancellationToken: CancellationToken.None));
            return new ExecutionOutcome("failed", 0, problem);
        }

        return await parted!.RunClaimedAsync(executionId, plan, timeout, ct);
    }

    /// <summary>
    /// Reading and writing overlap: one task parses and renders the next batch from AKTools while
    /// this one writes the current batch to MySQL. A failure on either side stops both.
    /// </summary>
    private static async Task ReadAndWriteAsync(AkToolsClient.Answer answer, ExecutionPlan plan, WarehouseWriter.TableWrite write, Progress progress, CancellationToken ct)
    {
        var batches = Channel.CreateBounded<WarehouseWriter.PreparedBatch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        // Written batches come back to be filled again: three batches' buffers serve the whole run.
        var spare = new System.Collections.Concurrent.ConcurrentBag<RowBatch>();
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader = Task.Run(async () =>
        {
            try
            {
                while (await answer.Rows.ReadAsync(BatchSize, BatchBytes, reading.Token, spare.TryTake(out var empty) ? empty : null) is { } batch)
                {
                    plan.DatedColumns?.Apply(batch);
                    foreach (var (name, value) in plan.ExtraColumns) batch.SetEverywhere(name, value);
                    Interlocked.Add(ref progress.Fetched, batch.Count);
                    await batches.Writer.WriteAsync(write.Prepare(batch), reading.Token);
                }

                batches.Writer.TryComplete();
            }
            catch (Exception e)
            {
                batches.Writer.TryComplete(e);
            }
        }, CancellationToken.None);

        try
        {
            while (await batches.Reader.WaitToReadAsync(ct))
            {
                while (batches.Reader.TryRead(out var batch))
                {
                    await WriteAsync(write, batch, progress, answer, ct);
                    spare.Add(write.Recycle(batch));
                }
            }
        }
        finally
        {
            await reading.CancelAsync();
            await reader;
        }
    }

    private static async Task WriteAsync(WarehouseWriter.TableWrite write, WarehouseWriter.PreparedBatch batch, Progress progress, AkToolsClient.Answer answer, CancellationToken ct)
    {
        if (batch.Batch.Count == 0) return;
        var written = await write.WriteAsync(batch, ct);
        progress.Inserted += written.Inserted;
        progress.Updated += written.Updated;
        progress.Written += batch.Batch.Count;
        // With a known length, progress follows the bytes read; without one it creeps towards 95 by batches.
        progress.Percent = answer.ContentLength is > 0 and var length
            ? (int)Math.Clamp(95.0 * answer.BytesRead() / length, 1, 95)
            : (int)Math.Min(95, 95 * (1 - Math.Pow(0.8, progress.Written / (double)BatchSize)));
    }

    /// <summary>
    /// The run's record, written whatever happened to the database meanwhile: a database that stopped answering
    /// is waited for (retries with backoff, for <see cref="RecordPatience"/> at most), so the run ends with its
    /// own cause and not with the watchdog's guess.
    /// </summary>
    private async Task RecordAsync(string executionId, CommandDefinition record)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await database.OpenAsync(CancellationToken.None);
                await connection.ExecuteAsync(record);
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

    /// <summary>A database failure in words: a lost connection says so, an SQL error keeps its number.</summary>
    private static string DatabaseCause(MySqlException e) =>
        e.ErrorCode is MySqlErrorCode.UnableToConnectToHost || e.InnerException is IOException or System.Net.Sockets.SocketException || e.Number == 0
            ? $"the database stopped answering during the run: {e.Message}"
            : $"database error {e.Number}: {e.Message}";

    /// <summary>
    /// Heartbeat and progress every second; the cancel flag is read at the same time. A database that stops
    /// answering stops the beats, not the loop: they resume on a new connection as soon as it answers again.
    /// </summary>
    private async Task MonitorAsync(string executionId, Progress progress, CancellationTokenSource run, Action cancelled, CancellationToken stop)
    {
        MySqlConnection? connection = null;
        var failing = false;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    connection ??= await database.OpenAsync(stop);
                    var flagged = await connection.ExecuteScalarAsync<bool>(new CommandDefinition("""
                        UPDATE executions SET heartbeat_at = @now, progress = @percent, rows_fetched = @fetched, rows_affected = @affected
                        WHERE execution_id = @executionId;
                        SELECT cancel_requested FROM executions WHERE execution_id = @executionId;
                        """, new { now = time.GetUtcNow().UtcDateTime, percent = progress.Percent, fetched = progress.Fetched, affected = progress.Inserted + progress.Updated, executionId },
                        cancellationToken: stop));
                    if (failing) logger.LogInformation("Heartbeat of execution {ExecutionId} resumed", executionId);
                    failing = false;
                    if (flagged)
                    {
                        cancelled();
                        await run.CancelAsync();
                    }
                }
                catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException or System.Net.Sockets.SocketException)
                {
                    // Never out of here: the run's end awaits this loop, and must still record what happened.
                    if (!failing) logger.LogWarning(e, "Heartbeat of execution {ExecutionId} failed; retrying every second", executionId);
                    failing = true;
                    if (connection is not null)
                    {
                        await DisposeQuietlyAsync(connection);
                        connection = null;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            if (connection is not null) await DisposeQuietlyAsync(connection);
        }
    }

    private static async Task DisposeQuietlyAsync(MySqlConnection connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception e) when (e is MySqlException or IOException)
        {
            // A connection the database dropped: nothing left to close.
        }
    }

    /// <summary>
    /// After the record: the date indexes the run left for later (off the run's clock; a failure is only logged),
    /// then word to the readers of the table that it changed.
    /// </summary>
    private Task AfterRunAsync(string table, IReadOnlyList<WarehouseWriter.BrowsingIndex> indexes) =>
        AfterRunAsync(writer, writes, logger, table, indexes);

    /// <summary>Shared with parted runs, which end the same way.</summary>
    internal static async Task AfterRunAsync(
        WarehouseWriter writer, TableWrites? writes, ILogger logger, string table, IReadOnlyList<WarehouseWriter.BrowsingIndex> indexes)
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

        writes?.Announce(table);
    }

    /// <summary>The table in the catalogue of managed tables, with the script that fills it; shared with parted runs.</summary>
    internal static async Task RegisterTableAsync(MySqlConnection connection, ExecutionPlan plan, bool wrote, DateTime now, CancellationToken ct)
    {
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO warehouse_tables (table_name, display_name, category, script_id, interface_name, write_mode, key_columns, created_at, last_updated_at)
            VALUES (@TargetTable, @display, @Category, @ScriptId, @InterfaceName, @WriteMode, @keys, @now, @updated)
            ON DUPLICATE KEY UPDATE display_name = COALESCE(@displayGiven, display_name), category = COALESCE(@Category, category),
              script_id = COALESCE(@ScriptId, script_id), interface_name = @InterfaceName, write_mode = @WriteMode, key_columns = @keys,
              last_updated_at = COALESCE(@updated, last_updated_at)
            """, new
        {
            plan.TargetTable,
            display = plan.DisplayName ?? plan.InterfaceName,
            displayGiven = plan.DisplayName,
            plan.Category,
            plan.ScriptId,
            plan.InterfaceName,
            plan.WriteMode,
            keys = JsonSerializer.Serialize(plan.KeyColumns),
            now,
            updated = wrote ? now : (DateTime?)null,
        }, cancellationToken: ct));
    }

    private static async Task<long> CountQuietlyAsync(WarehouseWriter.TableWrite write, ExecutionPlan plan)
    {
        try
        {
            return await write.FinishCountOnlyAsync(plan.TargetTable);
        }
        catch (MySqlException)
        {
            return 0;
        }
    }

    private enum StopReason { None, Cancelled }

    private sealed class Progress
    {
        public long Fetched;
        public long Written;
        public long Inserted;
        public long Updated;
        public int Percent;
    }
}
