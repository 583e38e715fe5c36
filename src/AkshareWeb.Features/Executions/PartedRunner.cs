using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>The parted executions this instance takes part in, so it joins each once.</summary>
public sealed class PartParticipations
{
    private readonly ConcurrentDictionary<string, byte> active = new(StringComparer.Ordinal);

    /// <summary>This instance's name in execution_parts.worker: two instances in one process are told apart too.</summary>
    public string Worker { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public bool TryEnter(string executionId) => active.TryAdd(executionId, 0);

    public void Leave(string executionId) => active.TryRemove(executionId, out _);

    public bool IsIn(string executionId) => active.ContainsKey(executionId);
}

/// <summary>
/// Runs a parted execution. The instance that claimed the execution expands its sources into execution_parts;
/// then it, and every other instance that joins (see Executions/PartsPump), takes parts one at a time under the
/// execution's row lock, so a part runs once however many take part, and at most the run's concurrency run at
/// once in all. Each part waits for its turn under its site family's rate, is fetched (AKTools' transient answers
/// retried with backoff, each try also waiting its turn) and written as it finishes with the same keyed writes as
/// a single run. Every second a participant beats the heartbeats of its parts and of the execution, updates the
/// counts and reads the cancel flag. Whoever finds no part left open records the end.
/// </summary>
public sealed class PartedRunner(
    Database database, Warehouse warehouse, AkToolsClient akTools, WarehouseWriter writer, PartSources sources, SourceRates rates,
    ParameterBinder binder, PartParticipations participations, SystemSettings settings, TimeProvider time, ILogger<PartedRunner> logger, TableWrites? writes = null)
{
    /// <summary>Expands the sources of a just-claimed execution (unless a retry brought its parts), then takes part.</summary>
    public async Task<ExecutionOutcome> RunClaimedAsync(string executionId, ExecutionPlan plan, TimeSpan? partTimeout, CancellationToken ct)
    {
        await using (var connection = await database.OpenAsync(ct))
        {
            var existing = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM execution_parts WHERE execution_id = @executionId", new { executionId }, cancellationToken: ct));
            if (existing == 0)
            {
                List<Dictionary<string, string>> parts;
                try
                {
                    parts = await sources.ExpandAsync(plan.Sources!, ct);
                }
                catch (Exception e) when (e is InvalidOperationException or MySqlException)
                {
                    await EndAsync(connection, executionId, "failed", $"the parameter sources could not be read: {e.Message}", 0, 0, 0, ct);
                    return new ExecutionOutcome("failed", 0, e.Message);
                }

                await InsertPartsAsync(connection, executionId, parts, ct);
            }

            var rowsBefore = await CountRowsAsync(plan.TargetTable, ct);
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE executions SET rows_before = @rowsBefore,
                  parts_total = (SELECT COUNT(*) FROM execution_parts WHERE execution_id = @executionId),
                  parts_done = (SELECT COUNT(*) FROM execution_parts WHERE execution_id = @executionId AND status = 'completed'),
                  parts_failed = 0
                WHERE execution_id = @executionId
                """, new { rowsBefore, executionId }, cancellationToken: ct));
        }

        await ParticipateAsync(executionId, plan, partTimeout, ct);
        await using var read = await database.OpenAsync(CancellationToken.None);
        var end = await read.QuerySingleAsync<(string Status, long? Affected, string? Error)>(new CommandDefinition(
            "SELECT status, rows_affected, error_message FROM executions WHERE execution_id = @executionId", new { executionId }, cancellationToken: CancellationToken.None));
        return new ExecutionOutcome(end.Status, end.Affected ?? 0, end.Error);
    }

    /// <summary>Takes part in a running parted execution started elsewhere (or before a restart); true when this call recorded its end.</summary>
    public async Task<bool> JoinAsync(string executionId, TimeSpan? partTimeout, CancellationToken ct)
    {
        ExecutionPlan? plan;
        await using (var connection = await database.OpenAsync(ct))
        {
            plan = await ExecutionStore.LoadPlanAsync(connection, executionId, ct);
        }

        return plan is { IsParted: true } && await ParticipateAsync(executionId, plan, partTimeout, ct);
    }

    private static async Task InsertPartsAsync(MySqlConnection connection, string executionId, List<Dictionary<string, string>> parts, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        for (var start = 0; start < parts.Count; start += 500)
        {
            var chunk = parts.Skip(start).Take(500).Select((values, i) => new
            {
                executionId,
                partNo = start + i + 1,
                parameters = JsonSerializer.Serialize(values),
            }).ToList();
            var sql = "INSERT INTO execution_parts (execution_id, part_no, parameters, status) VALUES "
                + string.Join(", ", chunk.Select((_, i) => $"(@e, @n{i}, @p{i}, 'pending')"));
            var args = new DynamicParameters();
            args.Add("e", executionId);
            for (var i = 0; i < chunk.Count; i++)
            {
                args.Add($"n{i}", chunk[i].partNo);
                args.Add($"p{i}", chunk[i].parameters);
            }

            await connection.ExecuteAsync(new CommandDefinition(sql, args, transaction, cancellationToken: ct));
        }

        await transaction.CommitAsync(ct);
    }

    private async Task<bool> ParticipateAsync(string executionId, ExecutionPlan plan, TimeSpan? partTimeout, CancellationToken ct)
    {
        if (!participations.TryEnter(executionId)) return false;
        try
        {
            var global = await settings.GetExecutionSettingsAsync(ct);
            var concurrency = Math.Clamp(plan.Concurrency ?? sources.DefaultConcurrency, 1, Math.Max(1, global.MaxConcurrentTasks));
            var family = await rates.FamilyAsync(plan.InterfaceName, ct);
            var state = new Participation(executionId, plan, concurrency, family, partTimeout);
            await SeenAsync(executionId, ct);
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var monitorStop = new CancellationTokenSource();
            var monitor = MonitorAsync(state, run, monitorStop.Token);
            var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => WorkAsync(state, run.Token), CancellationToken.None)).ToList();
            await Task.WhenAll(workers);
            await monitorStop.CancelAsync();
            await monitor;
            await CloseWriteAsync(state);
            if (ct.IsCancellationRequested)
            {
                // The service is stopping: the parts this instance had open go back to pending for whoever continues.
                await ReleaseAsync(state);
                return false;
            }

            return await TryFinishAsync(state);
        }
        finally
        {
            participations.Leave(executionId);
            await LeftAsync(executionId);
        }
    }

    private async Task SeenAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO execution_participants (execution_id, worker, seen_at) VALUES (@executionId, @worker, @now)
            ON DUPLICATE KEY UPDATE seen_at = VALUES(seen_at)
            """, new { executionId, worker = participations.Worker, now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct));
    }

    private async Task LeftAsync(string executionId)
    {
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None);
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM execution_participants WHERE execution_id = @executionId AND worker = @worker", new { executionId, worker = participations.Worker }));
        }
        catch (MySqlException e)
        {
            logger.LogWarning(e, "Leaving parted execution {ExecutionId} was not recorded", executionId);
        }
    }

    private sealed class Participation(string executionId, ExecutionPlan plan, int concurrency, string family, TimeSpan? partTimeout)
    {
        public string ExecutionId { get; } = executionId;
        public ExecutionPlan Plan { get; } = plan;
        public int Concurrency { get; } = concurrency;
        public string Family { get; } = family;
        public TimeSpan? PartTimeout { get; } = partTimeout;
        public ConcurrentDictionary<long, byte> Running { get; } = new();
        public ConcurrentBag<WarehouseWriter.BrowsingIndex> Indexes { get; } = [];
        public volatile bool Cancelled;
        public long Written;

        /// <summary>
        /// The participation's one write to the table, shared by its workers in turn: the engine's table write keeps
        /// state across batches (the key index built once, defaults naming the run), as one run's write always did.
        /// Fetching, the slow part, runs in parallel; writing a part's rows takes milliseconds.
        /// </summary>
        public WarehouseWriter.TableWrite? Write { get; set; }

        public SemaphoreSlim WriteGate { get; } = new(1, 1);
    }

    private async Task CloseWriteAsync(Participation state)
    {
        if (state.Write is not { } write) return;
        try
        {
            await write.FinishAsync(CancellationToken.None);
            foreach (var index in write.BrowsingIndexes) state.Indexes.Add(index);
        }
        catch (MySqlException e)
        {
            logger.LogWarning(e, "Closing the write of parted execution {ExecutionId} failed", state.ExecutionId);
        }

        await write.DisposeAsync();
        state.Write = null;
    }

    private enum Claim { Part, Busy, None, Stopped }

    private sealed record PartRow(long Id, int PartNo, string Parameters, int Tries);

    private async Task WorkAsync(Participation state, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var (claim, part) = await ClaimAsync(state, ct);
                if (claim is Claim.None or Claim.Stopped) break;
                if (claim == Claim.Busy)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct);
                    continue;
                }

                await RunPartAsync(state, part!, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is MySqlException or InvalidOperationException)
        {
            logger.LogWarning(e, "A worker of parted execution {ExecutionId} stopped", state.ExecutionId);
        }
    }

    private async Task<(Claim, PartRow?)> ClaimAsync(Participation state, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var execution = await connection.QuerySingleOrDefaultAsync<(string Status, bool Cancel)>(new CommandDefinition(
            "SELECT status, cancel_requested FROM executions WHERE execution_id = @ExecutionId FOR UPDATE", new { state.ExecutionId }, transaction, cancellationToken: ct));
        if (execution.Status != "running" || execution.Cancel)
        {
            state.Cancelled |= execution.Cancel;
            return (Claim.Stopped, null);
        }

        var counts = await connection.QuerySingleAsync<(long Running, long Pending)>(new CommandDefinition("""
            SELECT CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED), CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED) FROM execution_parts
            WHERE execution_id = @ExecutionId AND status IN ('running', 'pending')
            """, new { state.ExecutionId }, transaction, cancellationToken: ct));
        if (counts.Pending == 0) return (Claim.None, null);
        if (counts.Running >= state.Concurrency) return (Claim.Busy, null);
        // The concurrency is shared out among the instances seen taking part in the last few seconds.
        var participants = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM execution_participants WHERE execution_id = @ExecutionId AND seen_at >= @recent",
            new { state.ExecutionId, recent = time.GetUtcNow().UtcDateTime.AddSeconds(-3) }, transaction, cancellationToken: ct));
        if (state.Running.Count >= (state.Concurrency + Math.Max(1, participants) - 1) / Math.Max(1, participants)) return (Claim.Busy, null);
        var part = await connection.QuerySingleAsync<PartRow>(new CommandDefinition("""
            SELECT id AS Id, part_no AS PartNo, CAST(parameters AS CHAR) AS Parameters, tries AS Tries FROM execution_parts
            WHERE execution_id = @ExecutionId AND status = 'pending' ORDER BY id LIMIT 1
            """, new { state.ExecutionId }, transaction, cancellationToken: ct));
        var now = time.GetUtcNow().UtcDateTime;
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE execution_parts SET status = 'running', worker = @worker, start_time = @now, end_time = NULL, heartbeat_at = @now, error_message = NULL
            WHERE id = @Id
            """, new { worker = participations.Worker, now, part.Id }, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
        state.Running[part.Id] = 0;
        return (Claim.Part, part);
    }

    private async Task RunPartAsync(Participation state, PartRow part, CancellationToken ct)
    {
        var plan = state.Plan;
        var values = new Dictionary<string, string>(plan.Parameters, StringComparer.Ordinal);
        var own = JsonSerializer.Deserialize<Dictionary<string, string>>(part.Parameters) ?? [];
        foreach (var (name, value) in own) values[name] = value;
        long fetched = 0, inserted = 0, updated = 0;
        var tries = 0;
        string status;
        string? error = null;
        using var partRun = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (state.PartTimeout is { } limit) partRun.CancelAfter(limit);
        try
        {
            foreach (var (name, source) in plan.Sources!.Where(s => s.Value.SinceLast is not null))
            {
                if (await sources.SinceLastAsync(source, plan.TargetTable, values, partRun.Token) is { } since)
                {
                    values[name] = since;
                    own[name] = since;
                }
            }

            if (own.Count > 0) await SaveParametersAsync(part.Id, own, partRun.Token);

            // A value read from a table reaches here unchecked: FetchAsync holds it to AKTools' rule like any other, so
            // the part fails with the reason before any call or rate turn.
            AkToolsClient.Answer? answer = null;
            try
            {
                answer = await akTools.FetchAsync(plan.InterfaceName, values, partRun.Token, async (attempt, token) =>
                {
                    tries = attempt;
                    await rates.WaitTurnAsync(state.Family, token);
                });
            }
            catch (AkToolsException e) when (e.EmptyResult)
            {
            }

            if (answer is not null)
            {
                using (answer)
                {
                    var extra = binder.ResolveExtraColumns(plan.ExtraColumns, values);
                    RowBatch? spare = null;
                    while (await answer.Rows.ReadAsync(ExecutionRunner.BatchSize, ExecutionRunner.BatchBytes, partRun.Token, spare) is { } batch)
                    {
                        plan.DatedColumns?.Apply(batch);
                        foreach (var (name, value) in extra) batch.SetEverywhere(name, value);
                        fetched += batch.Count;
                        await state.WriteGate.WaitAsync(partRun.Token);
                        try
                        {
                            state.Write ??= await writer.OpenAsync(plan, state.ExecutionId, partRun.Token, shared: true);
                            var prepared = state.Write.Prepare(batch);
                            var result = await state.Write.WriteAsync(prepared, partRun.Token);
                            inserted += result.Inserted;
                            updated += result.Updated;
                            spare = state.Write.Recycle(prepared);
                        }
                        finally
                        {
                            state.WriteGate.Release();
                        }
                    }
                }
            }

            status = "completed";
        }
        catch (OperationCanceledException) when (partRun.IsCancellationRequested)
        {
            (status, error) = state.Cancelled ? ("cancelled", "cancelled while running")
                : ct.IsCancellationRequested ? ("pending", null)
                : ("failed", $"did not finish within {state.PartTimeout!.Value.TotalSeconds:0} s");
        }
        catch (AkToolsException e)
        {
            (status, error) = ("failed", e.Message);
        }
        catch (MySqlException e)
        {
            (status, error) = ("failed", $"database error {e.Number}: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            (status, error) = ("failed", e.Message);
        }

        Interlocked.Add(ref state.Written, inserted + updated);
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            // Only the worker holding the part records it: a part the watchdog gave to someone else is theirs now.
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE execution_parts SET status = @status, tries = tries + @tries, rows_fetched = @fetched, rows_written = @written,
                  error_message = @error, end_time = @end, heartbeat_at = @end
                WHERE id = @Id AND worker = @worker AND status = 'running'
                """, new
            {
                status,
                tries = status == "pending" ? 0 : Math.Max(1, tries),
                fetched,
                written = inserted + updated,
                error,
                end = status == "pending" ? (DateTime?)null : time.GetUtcNow().UtcDateTime,
                part.Id,
                worker = participations.Worker,
            }, cancellationToken: CancellationToken.None));
        }

        state.Running.TryRemove(part.Id, out _);
    }

    private async Task SaveParametersAsync(long partId, Dictionary<string, string> own, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE execution_parts SET parameters = @parameters WHERE id = @partId",
            new { parameters = JsonSerializer.Serialize(own), partId }, cancellationToken: ct));
    }

    /// <summary>Every second: heartbeats, counts, progress, and the cancel flag (seen on any instance within a second).</summary>
    private async Task MonitorAsync(Participation state, CancellationTokenSource run, CancellationToken stop)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            while (await timer.WaitForNextTickAsync(stop))
            {
                await using var connection = await database.OpenAsync(stop);
                var now = time.GetUtcNow().UtcDateTime;
                var mine = state.Running.Keys.ToArray();
                if (mine.Length > 0)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        "UPDATE execution_parts SET heartbeat_at = @now WHERE id IN @mine AND status = 'running'", new { now, mine }, cancellationToken: stop));
                }

                await SeenAsync(state.ExecutionId, stop);
                var flagged = await UpdateCountsAsync(connection, state, now, stop);
                if (flagged && !state.Cancelled)
                {
                    state.Cancelled = true;
                    await run.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (MySqlException e)
        {
            logger.LogWarning(e, "Heartbeat of parted execution {ExecutionId} failed", state.ExecutionId);
        }
    }

    private async Task<bool> UpdateCountsAsync(MySqlConnection connection, Participation state, DateTime now, CancellationToken ct)
    {
        var counts = await connection.QuerySingleAsync<Counts>(new CommandDefinition(CountsSql, new { state.ExecutionId, recent = now.AddSeconds(-10) }, cancellationToken: ct));
        var live = new Dictionary<string, object?>
        {
            ["message"] = $"{counts.Done + counts.Failed} of {counts.Total} parts done",
            ["source_family"] = state.Family,
            ["rate_limit"] = rates.RateOf(state.Family),
            ["effective_rate"] = Math.Round(counts.Recent / 10.0, 2),
            ["parts_waiting"] = counts.Pending,
            ["parts_running"] = counts.Running,
        };
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition("""
            UPDATE executions SET heartbeat_at = @now, progress = @progress, parts_done = @Done, parts_failed = @Failed,
              rows_fetched = @Fetched, rows_affected = @Written, result = @result
            WHERE execution_id = @ExecutionId AND status = 'running';
            SELECT cancel_requested FROM executions WHERE execution_id = @ExecutionId;
            """, new
        {
            now,
            progress = Progress(counts),
            counts.Done,
            counts.Failed,
            counts.Fetched,
            counts.Written,
            result = JsonSerializer.Serialize(live),
            state.ExecutionId,
        }, cancellationToken: ct));
    }

    private const string CountsSql = """
        SELECT COUNT(*) AS Total, CAST(COALESCE(SUM(status = 'completed'), 0) AS SIGNED) AS Done, CAST(COALESCE(SUM(status = 'failed'), 0) AS SIGNED) AS Failed,
          CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED) AS Pending, CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED) AS Running,
          CAST(COALESCE(SUM(status = 'cancelled'), 0) AS SIGNED) AS Cancelled, CAST(COALESCE(SUM(end_time >= @recent), 0) AS SIGNED) AS Recent,
          CAST(COALESCE(SUM(rows_fetched), 0) AS SIGNED) AS Fetched, CAST(COALESCE(SUM(rows_written), 0) AS SIGNED) AS Written
        FROM execution_parts WHERE execution_id = @ExecutionId
        """;

    private sealed record Counts(long Total, long Done, long Failed, long Pending, long Running, long Cancelled, long Recent, long Fetched, long Written);

    /// <summary>The share of parts that have ended, failed ones included (they are done with, until a retry).</summary>
    private static int Progress(Counts c) => c.Total == 0 ? 0 : (int)Math.Min(100, 100 * (c.Done + c.Failed + c.Cancelled) / c.Total);

    private async Task ReleaseAsync(Participation state)
    {
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE execution_parts SET status = 'pending', worker = NULL, heartbeat_at = NULL WHERE execution_id = @ExecutionId AND worker = @worker AND status = 'running'",
                new { state.ExecutionId, worker = participations.Worker }));
        }
        catch (MySqlException e)
        {
            logger.LogWarning(e, "Parts of {ExecutionId} could not be released; the watchdog frees them", state.ExecutionId);
        }
    }

    /// <summary>
    /// When no part is open any more, records the end once (the status change from running is the lock): completed
    /// when every part succeeded, failed naming how many did not, cancelled when asked.
    /// </summary>
    private async Task<bool> TryFinishAsync(Participation state)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        if (state.Cancelled)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE execution_parts SET status = 'cancelled', error_message = 'cancelled before it started', end_time = @now
                WHERE execution_id = @ExecutionId AND status = 'pending'
                """, new { state.ExecutionId, now = time.GetUtcNow().UtcDateTime }));
        }

        var counts = await connection.QuerySingleAsync<Counts>(new CommandDefinition(CountsSql, new { state.ExecutionId, recent = DateTime.MaxValue }));
        if (counts.Pending + counts.Running > 0) return false;
        var cancelled = state.Cancelled || await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT cancel_requested FROM executions WHERE execution_id = @ExecutionId", new { state.ExecutionId }));
        var (status, error) = cancelled ? ("cancelled", $"cancelled while running: {counts.Done} of {counts.Total} parts completed")
            : counts.Failed > 0 ? ("failed", $"{counts.Failed} of {counts.Total} parts failed after their retries; POST /api/executions/{state.ExecutionId}/retry runs only those again")
            : ("completed", null);
        var rowsAfter = await CountRowsAsync(state.Plan.TargetTable, CancellationToken.None);
        var result = new Dictionary<string, object?>
        {
            ["message"] = error ?? $"success: {counts.Total} parts",
            ["rows_fetched"] = counts.Fetched,
            ["rows_written"] = counts.Written,
            ["table_name"] = state.Plan.TargetTable,
            ["source_family"] = state.Family,
            ["rate_limit"] = rates.RateOf(state.Family),
            ["parts_total"] = counts.Total,
            ["parts_done"] = counts.Done,
            ["parts_failed"] = counts.Failed,
        };
        var ended = await EndAsync(connection, state.ExecutionId, status, error, counts.Fetched, counts.Written, rowsAfter, CancellationToken.None, result, counts);
        if (!ended) return false;
        if (counts.Written > 0 || rowsAfter > 0) await ExecutionRunner.RegisterTableAsync(connection, state.Plan, counts.Written > 0, time.GetUtcNow().UtcDateTime, CancellationToken.None);
        logger.LogInformation("Parted execution {ExecutionId} ended {Status}: {Done}/{Total} parts, {Written} rows written", state.ExecutionId, status, counts.Done, counts.Total, counts.Written);
        var indexes = state.Indexes.DistinctBy(i => i.Name).ToList();
        if (indexes.Count > 0 || counts.Written > 0) _ = AfterRunAsync(state.Plan.TargetTable, indexes);
        return true;
    }

    private async Task<bool> EndAsync(MySqlConnection connection, string executionId, string status, string? error, long fetched, long written, long rowsAfter,
        CancellationToken ct, Dictionary<string, object?>? result = null, Counts? counts = null)
    {
        var end = time.GetUtcNow().UtcDateTime;
        return await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE executions SET status = @status, end_time = @end, execution_time = TIMESTAMPDIFF(MICROSECOND, start_time, @end) / 1e6,
              progress = @progress, rows_fetched = @fetched, rows_after = @rowsAfter, rows_affected = @written,
              parts_total = @total, parts_done = @done, parts_failed = @failed, result = @result, error_message = @error, heartbeat_at = @end
            WHERE execution_id = @executionId AND status = 'running'
            """, new
        {
            status,
            end,
            progress = status == "completed" ? 100 : counts is null ? 0 : Progress(counts),
            fetched,
            rowsAfter,
            written,
            total = counts?.Total ?? 0,
            done = counts?.Done ?? 0,
            failed = counts?.Failed ?? 0,
            result = JsonSerializer.Serialize(result ?? new Dictionary<string, object?> { ["message"] = error }),
            error,
            executionId,
        }, cancellationToken: ct)) == 1;
    }

    private async Task<long> CountRowsAsync(string table, CancellationToken ct)
    {
        await using var connection = await warehouse.OpenAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table", new { table }, cancellationToken: ct));
        return exists == 0 ? 0 : await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(table)}", cancellationToken: ct));
    }

    private Task AfterRunAsync(string table, IReadOnlyList<WarehouseWriter.BrowsingIndex> indexes) =>
        ExecutionRunner.AfterRunAsync(writer, writes, logger, table, indexes);
}
