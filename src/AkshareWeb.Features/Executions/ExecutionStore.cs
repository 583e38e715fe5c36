using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Executions;

/// <summary>How a cancel request met the run.</summary>
public enum CancelResult
{
    /// <summary>It was pending: it is cancelled now and never starts.</summary>
    CancelledPending,
    /// <summary>It was running: its runner reads the flag within a second and stops.</summary>
    Flagged,
    /// <summary>It had already ended.</summary>
    AlreadyEnded,
}

/// <summary>
/// The <c>executions</c> row's life: creation, the claim, the heartbeat, a cancel, the end, of a single run and of a
/// parted run's own row (its parts are <see cref="PartStore"/>'s). Reads for the API are <see cref="ExecutionReads"/>'s;
/// retries and the recovery of dead runs <see cref="ExecutionRecovery"/>'s.
/// </summary>
public sealed class ExecutionStore(Database database, TimeProvider time, CallStore calls)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary><c>exec_</c> and 26 base32 characters of 16 random bytes: unguessable, URL-safe.</summary>
    public static string NewExecutionId()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var bytes = RandomNumberGenerator.GetBytes(17);
        var chars = new char[26];
        for (var i = 0; i < 26; i++)
        {
            var bit = i * 5;
            var value = ((bytes[bit / 8] << 8) | bytes[(bit / 8) + 1]) >> (11 - (bit % 8));
            chars[i] = alphabet[value & 31];
        }

        return "exec_" + new string(chars);
    }

    /// <summary>What a run repeats exactly, fixed when it is created; a retry copies these from the run it repeats.</summary>
    internal const string PlanColumns = """
        task_id, script_id, interface_name, parameters, parameter_sources, concurrency, target_table, write_mode,
          key_columns, extra_columns, dated_columns, display_name, category, backfill_of
        """;

    /// <summary>The one column list of a new execution: who and why, then its plan.</summary>
    internal const string InsertColumns = "execution_id, user_id, status, triggered_by, retry_of, retry_count, progress, created_at, schedule_key, " + PlanColumns;

    /// <summary>A pending execution; null when the plan's schedule key was already used (that due time has run).</summary>
    public async Task<string?> CreateAsync(ExecutionPlan plan, CancellationToken ct)
    {
        var id = NewExecutionId();
        await using var connection = await database.OpenAsync(ct);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO executions ({InsertColumns})
                VALUES (@id, @UserId, @pending, @TriggeredBy, NULL, 0, 0, @now, @ScheduleKey, @TaskId, @ScriptId, @InterfaceName, @parameters, @sources,
                  @Concurrency, @TargetTable, @WriteMode, @keys, @extras, @dated, @DisplayName, @Category, @BackfillOf)
                """, new
            {
                pending = ExecutionStatuses.Pending,
                id,
                plan.TaskId,
                plan.ScriptId,
                plan.UserId,
                plan.InterfaceName,
                parameters = JsonSerializer.Serialize(plan.Parameters, Json),
                sources = plan.IsParted ? ValueSource.Serialize(plan.Sources!) : null,
                plan.Concurrency,
                plan.TargetTable,
                plan.WriteMode,
                keys = JsonSerializer.Serialize(plan.KeyColumns, Json),
                extras = JsonSerializer.Serialize(plan.ExtraColumns, Json),
                dated = plan.DatedColumns is null ? null : JsonSerializer.Serialize(plan.DatedColumns, Json),
                plan.DisplayName,
                plan.Category,
                plan.TriggeredBy,
                now = time.GetUtcNow().UtcDateTime,
                plan.ScheduleKey,
                plan.BackfillOf,
            }, cancellationToken: ct));
            return id;
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && plan.ScheduleKey is not null)
        {
            return null;
        }
    }

    /// <summary>The run made under <paramref name="scheduleKey"/> while it is still pending; null otherwise.</summary>
    public async Task<string?> PendingByScheduleKeyAsync(string scheduleKey, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT execution_id FROM executions WHERE schedule_key = @scheduleKey AND status = @pending",
            new { scheduleKey, pending = ExecutionStatuses.Pending }, cancellationToken: ct));
    }

    /// <summary>
    /// Pending to running for <paramref name="worker"/>, so a run runs once whoever calls; null when it was not pending
    /// (cancelled, taken, ended, unknown). On <see cref="RunAdmission"/>'s connection, which for a task's run holds the
    /// turn of claims. A parted run's deadline is fixed here, <paramref name="runMinutes"/> after its start (none when
    /// null), in its row, so every instance that takes part stops at the same time.
    /// </summary>
    public async Task<ExecutionPlan?> ClaimAsync(MySqlConnection connection, string executionId, string worker, int? runMinutes, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claimed = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE executions SET status = @running, start_time = @now, heartbeat_at = @now, worker = @worker, progress = 0,
              deadline_at = CASE WHEN parameter_sources IS NULL OR @runMinutes IS NULL THEN NULL ELSE DATE_ADD(@now, INTERVAL @runMinutes MINUTE) END
            WHERE execution_id = @executionId AND status = @pending AND cancel_requested = 0
            """, new { running = ExecutionStatuses.Running, pending = ExecutionStatuses.Pending, now, worker, runMinutes, executionId }, cancellationToken: ct));
        return claimed == 0 ? null : await LoadPlanAsync(connection, executionId, ct);
    }

    /// <summary>One heartbeat with the progress so far; true when a cancel was asked for.</summary>
    public async Task<bool> BeatAsync(MySqlConnection connection, string executionId, int percent, long fetched, long affected, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<bool>(new CommandDefinition("""
            UPDATE executions SET heartbeat_at = @now, progress = @percent, rows_fetched = @fetched, rows_affected = @affected
            WHERE execution_id = @executionId;
            SELECT cancel_requested FROM executions WHERE execution_id = @executionId;
            """, new { now = time.GetUtcNow().UtcDateTime, percent, fetched, affected, executionId }, cancellationToken: ct));

    /// <summary>
    /// A run's end, on a connection of its own (a single run's caller retries while the database is away). A parted run's
    /// end is recorded once: the status change from running is the lock, and the one call that made it gets true; its
    /// calls are forgotten then (an ended run makes no more, its rate is 0 from now on).
    /// </summary>
    public async Task<bool> EndAsync(string executionId, RunEnd end)
    {
        var parted = end.Parts is not null;
        bool ended;
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            ended = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE executions SET status = @Status, end_time = @End,
                  execution_time = COALESCE(@Seconds, TIMESTAMPDIFF(MICROSECOND, start_time, @End) / 1e6), progress = @Progress,
                  rows_fetched = @Fetched, rows_before = COALESCE(@RowsBefore, rows_before), rows_after = @RowsAfter, rows_affected = @Affected,
                  rows_inserted = @Inserted, rows_updated = @Updated, parts_total = COALESCE(@total, parts_total),
                  parts_done = COALESCE(@done, parts_done), parts_failed = COALESCE(@failed, parts_failed),
                  result = @result, error_message = @Error, heartbeat_at = @End
                WHERE execution_id = @executionId AND (@parted = 0 OR status = 'running')
                """, new
            {
                end.Status, end.End, end.Seconds, end.Progress, end.Fetched, end.RowsBefore, end.RowsAfter, end.Affected, end.Inserted, end.Updated,
                total = end.Parts?.Total, done = end.Parts?.Done, failed = end.Parts?.Failed, result = end.Result.ToJson(), end.Error, executionId, parted,
            }, cancellationToken: CancellationToken.None)) == 1;
        }

        if (ended && parted) await calls.ForgetRunAsync(executionId);
        return ended;
    }

    /// <summary>A claimed run that cannot start ends failed at once, with the reason.</summary>
    public async Task FailAsync(string executionId, string problem)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE executions SET status = @failed, end_time = @end, error_message = @problem, result = @result
            WHERE execution_id = @executionId
            """, new { failed = ExecutionStatuses.Failed, end = time.GetUtcNow().UtcDateTime, problem, result = new RunResult(problem).ToJson(), executionId },
            cancellationToken: CancellationToken.None));
    }

    /// <summary>A pending run that has nothing to do ends completed at once, with no part and no call: a backfill that
    /// found no day missing in its range says so in its message.</summary>
    public async Task CompleteEmptyAsync(string executionId, string message)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE executions SET status = @completed, start_time = @now, end_time = @now, execution_time = 0, progress = 100,
              rows_fetched = 0, rows_affected = 0, rows_inserted = 0, rows_updated = 0, parts_total = 0, parts_done = 0, parts_failed = 0,
              result = @result, heartbeat_at = @now
            WHERE execution_id = @executionId AND status = @pending
            """, new
            {
                completed = ExecutionStatuses.Completed, pending = ExecutionStatuses.Pending, now, executionId,
                result = new RunResult(message, RowsFetched: 0, RowsWritten: 0, PartsTotal: 0, PartsDone: 0, PartsFailed: 0).ToJson(),
            }, cancellationToken: CancellationToken.None));
    }

    /// <summary>What the run repeats, as fixed at its creation; null for an unknown run.</summary>
    public async Task<ExecutionPlan?> PlanAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await LoadPlanAsync(connection, executionId, ct);
    }

    /// <summary>A pending run is cancelled at once; a running one is flagged for its runner.</summary>
    public async Task<CancelResult> CancelAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var cancelledPending = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE executions SET status = @cancelled, cancel_requested = 1, end_time = @now, error_message = 'cancelled before it started'
            WHERE execution_id = @executionId AND status = @pending
            """, new { cancelled = ExecutionStatuses.Cancelled, pending = ExecutionStatuses.Pending, now = time.GetUtcNow().UtcDateTime, executionId },
            cancellationToken: ct));
        if (cancelledPending > 0) return CancelResult.CancelledPending;
        var flagged = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE executions SET cancel_requested = 1 WHERE execution_id = @executionId AND status = @running",
            new { executionId, running = ExecutionStatuses.Running }, cancellationToken: ct));
        return flagged > 0 ? CancelResult.Flagged : CancelResult.AlreadyEnded;
    }

    /// <summary>The task that started the run; null for a run without a task (or an unknown run).</summary>
    public async Task<long?> TaskIdAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT task_id FROM executions WHERE execution_id = @executionId", new { executionId }, cancellationToken: ct));
    }

    /// <summary>The run's status now; null when there is no such run.</summary>
    public async Task<string?> StatusAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT status FROM executions WHERE execution_id = @executionId", new { executionId }, cancellationToken: ct));
    }

    /// <summary>A run refused a slot asked for one now: while pending it counts as waiting for a while
    /// (<see cref="SlotFairness.WaitingWindow"/>). Its status now; null when there is no such run.</summary>
    public async Task<string?> WaitingAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition("""
            UPDATE executions SET heartbeat_at = @now WHERE execution_id = @executionId AND status = @pending;
            SELECT status FROM executions WHERE execution_id = @executionId;
            """, new { now = time.GetUtcNow().UtcDateTime, executionId, pending = ExecutionStatuses.Pending }, cancellationToken: ct));
    }

    private async Task<int> RunAsync(string sql, object args, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(sql, args, cancellationToken: ct));
    }

    /// <summary>The parted run's starting counts: the rows its table had, its parts, those a retry's parent completed.</summary>
    public Task StartPartedAsync(string executionId, long rowsBefore, CancellationToken ct) => RunAsync("""
        UPDATE executions SET rows_before = @rowsBefore,
          parts_total = (SELECT COUNT(*) FROM execution_parts WHERE execution_id = @executionId),
          parts_done = (SELECT COUNT(*) FROM execution_parts WHERE execution_id = @executionId AND status = 'completed'),
          parts_failed = 0
        WHERE execution_id = @executionId
        """, new { rowsBefore, executionId }, ct);

    /// <summary>The run's end as recorded (whoever recorded it).</summary>
    public async Task<ExecutionOutcome> OutcomeAsync(string executionId)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var end = await connection.QuerySingleAsync<(string Status, long? Affected, string? Error)>(new CommandDefinition(
            "SELECT status, rows_affected, error_message FROM executions WHERE execution_id = @executionId", new { executionId }));
        return new ExecutionOutcome(end.Status, end.Affected ?? 0, end.Error);
    }

    /// <summary>The parted run's heartbeat with its counts and live result; true when a cancel was asked for or its
    /// deadline has passed (<see cref="OverdueAsync"/> tells which).</summary>
    public async Task<bool> BeatPartedAsync(string executionId, PartCounts counts, string result, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var flagged = await connection.ExecuteScalarAsync<bool>(new CommandDefinition("""
            UPDATE executions SET heartbeat_at = @now, progress = @progress, parts_done = @Done, parts_failed = @Failed,
              rows_fetched = @Fetched, rows_affected = @Written, result = @result
            WHERE execution_id = @executionId AND status = 'running';
            SELECT cancel_requested OR COALESCE(deadline_at <= @now, 0) FROM executions WHERE execution_id = @executionId;
            """, new { now = time.GetUtcNow().UtcDateTime, progress = counts.Progress, counts.Done, counts.Failed, counts.Fetched, counts.Written, result, executionId },
            cancellationToken: ct));
        await CallStore.ForgetOldAsync(connection, executionId, ct);
        return flagged;
    }

    /// <summary>The parted run's overall limit in minutes when it was stopped by its deadline rather than by a cancel;
    /// null otherwise.</summary>
    public async Task<int?> OverdueAsync(string executionId)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<int?>(new CommandDefinition("""
            SELECT TIMESTAMPDIFF(MINUTE, start_time, deadline_at) FROM executions
            WHERE execution_id = @executionId AND cancel_requested = 0 AND deadline_at <= @now
            """, new { executionId, now = time.GetUtcNow().UtcDateTime }));
    }

    public async Task<bool> CancelRequestedAsync(string executionId)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT cancel_requested FROM executions WHERE execution_id = @executionId", new { executionId }));
    }

    private static async Task<ExecutionPlan?> LoadPlanAsync(MySqlConnection connection, string executionId, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<PlanRow>(new CommandDefinition("""
            SELECT interface_name AS InterfaceName, CAST(parameters AS CHAR) AS Parameters, target_table AS TargetTable, write_mode AS WriteMode,
              CAST(key_columns AS CHAR) AS KeyColumns, CAST(extra_columns AS CHAR) AS ExtraColumns, CAST(dated_columns AS CHAR) AS DatedColumns, triggered_by AS TriggeredBy,
              task_id AS TaskId, script_id AS ScriptId, user_id AS UserId, display_name AS DisplayName, category AS Category,
              CAST(parameter_sources AS CHAR) AS Sources, concurrency AS Concurrency, backfill_of AS BackfillOf
            FROM executions WHERE execution_id = @executionId
            """, new { executionId }, cancellationToken: ct));
        return row is null ? null : new ExecutionPlan(
            row.InterfaceName,
            JsonSerializer.Deserialize<Dictionary<string, string>>(row.Parameters, Json) ?? [],
            row.TargetTable,
            row.WriteMode,
            JsonSerializer.Deserialize<List<string>>(row.KeyColumns, Json) ?? [],
            JsonSerializer.Deserialize<Dictionary<string, string>>(row.ExtraColumns, Json) ?? [],
            row.TriggeredBy, row.TaskId, row.ScriptId, row.UserId, row.DisplayName, row.Category,
            DatedColumns: row.DatedColumns is null ? null : JsonSerializer.Deserialize<DatedColumns>(row.DatedColumns, Json),
            Sources: row.Sources is null ? null : ValueSource.Deserialize(row.Sources),
            Concurrency: row.Concurrency,
            BackfillOf: row.BackfillOf);
    }

    private sealed record PlanRow(string InterfaceName, string Parameters, string TargetTable, string WriteMode, string KeyColumns,
        string ExtraColumns, string? DatedColumns, string TriggeredBy, long? TaskId, string? ScriptId, long? UserId, string? DisplayName, string? Category,
        string? Sources, int? Concurrency, string? BackfillOf);
}
