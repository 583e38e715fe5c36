using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

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
/// Reads of executions as the API shows them, with the visibility rule: users see the executions they started
/// or that their tasks started, admins all; someone else's execution is "not found". Also the counts others ask
/// Executions for (a task's latest status, runs now running).
/// </summary>
public sealed partial class ExecutionStore
{
    private const string ViewColumns = """
        execution_id AS ExecutionId, task_id AS TaskId, script_id AS ScriptId, interface_name AS InterfaceName,
        target_table AS TargetTable, status, triggered_by AS TriggeredBy, CAST(parameters AS CHAR) AS Parameters,
        created_at AS CreatedAt, start_time AS StartTime, end_time AS EndTime, execution_time AS ExecutionTime, progress,
        rows_fetched AS RowsFetched, rows_before AS RowsBefore, rows_after AS RowsAfter, rows_affected AS RowsAffected,
        rows_inserted AS RowsInserted, rows_updated AS RowsUpdated, CAST(result AS CHAR) AS Result,
        error_message AS ErrorMessage, retry_count AS RetryCount, retry_of AS RetryOf, user_id AS UserId,
        parts_total AS PartsTotal, parts_done AS PartsDone, parts_failed AS PartsFailed,
        CASE WHEN parts_total IS NULL THEN NULL ELSE (SELECT COUNT(*) FROM execution_parts p
          WHERE p.execution_id = executions.execution_id AND p.status = 'running') END AS PartsRunning,
        CASE WHEN parts_total IS NULL THEN NULL ELSE (SELECT COUNT(*) FROM execution_parts p
          WHERE p.execution_id = executions.execution_id AND p.status = 'pending') END AS PartsWaiting,
        CASE WHEN parts_total IS NULL THEN NULL
          -- An ended run calls no more. Its calls are deleted just after its end is written, by a statement of their own,
          -- and a read between the two (or after an end the watchdog wrote) must not show a rate.
          WHEN executions.status NOT IN ('pending', 'running') THEN 0
          ELSE (SELECT COUNT(*) FROM execution_calls c
          WHERE c.execution_id = executions.execution_id AND c.called_at >= UTC_TIMESTAMP(6) - INTERVAL 60 SECOND) END AS CallsLastMinute,
        CAST(parameter_sources AS CHAR) AS Sources
        """;

    /// <summary>The visibility filter for a caller, as SQL over the alias-free executions table (parameter @callerId).</summary>
    private static string VisibleTo(Caller caller) => caller.IsAdmin ? "1 = 1" : "user_id = @callerId";

    /// <summary>The execution if the caller may see it.</summary>
    public async Task<ExecutionView?> FindAsync(string executionId, Caller caller, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<ExecutionRecords.Row>(new CommandDefinition(
            $"SELECT {ViewColumns} FROM executions WHERE execution_id = @executionId AND {VisibleTo(caller)}",
            new { executionId, callerId = caller.Id }, cancellationToken: ct));
        return row?.ToView();
    }

    /// <summary>A page of executions, newest first: those <paramref name="visibleTo"/> may see, or (null) all of
    /// them, for a caller already allowed to see the task they are filtered by.</summary>
    public async Task<Paged<ExecutionView>> ListAsync(Caller? visibleTo, long? taskId, string? status, PageRequest paging, CancellationToken ct)
    {
        var where = new StringBuilder($"WHERE {(visibleTo is { } caller ? VisibleTo(caller) : "1 = 1")}");
        if (taskId is not null) where.Append(" AND task_id = @taskId");
        if (status is not null) where.Append(" AND status = @status");
        var args = new { callerId = visibleTo?.Id, taskId, status, limit = paging.PageSize, offset = paging.Offset };
        await using var connection = await database.OpenAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM executions {where}", args, cancellationToken: ct));
        var rows = await connection.QueryAsync<ExecutionRecords.Row>(new CommandDefinition(
            $"SELECT {ViewColumns} FROM executions {where} ORDER BY id DESC LIMIT @limit OFFSET @offset", args, cancellationToken: ct));
        return Paged<ExecutionView>.Of(rows.Select(r => r.ToView()).ToList(), total, paging);
    }

    /// <summary>How many executions the caller may see are in each status.</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountByStatusAsync(Caller caller, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<(string Status, long Count)>(new CommandDefinition(
            $"SELECT status, COUNT(*) FROM executions WHERE {VisibleTo(caller)} GROUP BY status",
            new { callerId = caller.Id }, cancellationToken: ct))).ToDictionary(r => r.Status, r => r.Count);
    }

    /// <summary>Executions running now, on every instance.</summary>
    public async Task<long> CountRunningAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM executions WHERE status = @running", new { running = ExecutionStatuses.Running }, cancellationToken: ct));
    }

    /// <summary>A user's ad-hoc runs waiting or running: downloads and retries of them (runs without a task),
    /// counted on the connection that holds the user's quota lock.</summary>
    public async Task<long> CountRunningAdhocAsync(MySqlConnection connection, long userId, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            SELECT COUNT(*) FROM executions WHERE user_id = @userId AND task_id IS NULL AND status IN (@pending, @running)
            """, new { userId, pending = ExecutionStatuses.Pending, running = ExecutionStatuses.Running }, cancellationToken: ct));

    /// <summary>The status of each task's latest execution; tasks that never ran are absent.</summary>
    public async Task<IReadOnlyDictionary<long, string>> LatestStatusesAsync(IReadOnlyCollection<long> taskIds, CancellationToken ct)
    {
        if (taskIds.Count == 0) return new Dictionary<long, string>();
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<(long TaskId, string Status)>(new CommandDefinition("""
            SELECT e.task_id, e.status FROM executions e
            JOIN (SELECT task_id, MAX(id) AS id FROM executions WHERE task_id IN @ids GROUP BY task_id) latest ON latest.id = e.id
            """, new { ids = taskIds }, cancellationToken: ct))).ToDictionary(r => r.TaskId, r => r.Status);
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

    /// <summary>A page of a run's parts, in their order.</summary>
    public async Task<Paged<ListExecutionParts.PartView>> ListPartsAsync(string executionId, string? status, PageRequest paging, CancellationToken ct)
    {
        var where = "WHERE execution_id = @executionId" + (status is null ? "" : " AND status = @status");
        var args = new { executionId, status, limit = paging.PageSize, offset = paging.Offset };
        await using var connection = await database.OpenAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM execution_parts {where}", args, cancellationToken: ct));
        var rows = await connection.QueryAsync<PartViewRow>(new CommandDefinition($"""
            SELECT part_no AS PartNo, CAST(parameters AS CHAR) AS Parameters, status AS Status, tries AS Tries, rows_fetched AS RowsFetched,
              rows_written AS RowsWritten, error_message AS ErrorMessage, start_time AS StartTime, end_time AS EndTime, worker AS Worker
            FROM execution_parts {where} ORDER BY part_no LIMIT @limit OFFSET @offset
            """, args, cancellationToken: ct));
        return Paged<ListExecutionParts.PartView>.Of(rows.Select(r => r.ToView()).ToList(), total, paging);
    }

    private sealed record PartViewRow(int PartNo, string Parameters, string Status, int Tries, long? RowsFetched, long? RowsWritten, string? ErrorMessage,
        DateTime? StartTime, DateTime? EndTime, string? Worker)
    {
        public ListExecutionParts.PartView ToView()
        {
            using var document = System.Text.Json.JsonDocument.Parse(Parameters);
            return new ListExecutionParts.PartView(PartNo, document.RootElement.Clone(), Status, Tries, RowsFetched, RowsWritten, ErrorMessage, StartTime, EndTime, Worker);
        }
    }

    /// <summary>The run's status now; null when there is no such run.</summary>
    public async Task<string?> StatusAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT status FROM executions WHERE execution_id = @executionId", new { executionId }, cancellationToken: ct));
    }
}
