using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Reads of executions as the API shows them, with the visibility rule: users see the executions they started
/// or that their tasks started, admins all; someone else's execution is "not found". Also the counts others ask
/// Executions for (a task's latest status, runs now running, a user's ad-hoc runs).
/// </summary>
public sealed class ExecutionReads(Database database)
{
    private const string ViewColumns = """
        execution_id AS ExecutionId, task_id AS TaskId, script_id AS ScriptId, interface_name AS InterfaceName,
        target_table AS TargetTable, status, triggered_by AS TriggeredBy, CAST(parameters AS CHAR) AS Parameters,
        created_at AS CreatedAt, start_time AS StartTime, end_time AS EndTime, execution_time AS ExecutionTime, progress,
        rows_fetched AS RowsFetched, rows_before AS RowsBefore, rows_after AS RowsAfter, rows_affected AS RowsAffected,
        rows_inserted AS RowsInserted, rows_updated AS RowsUpdated, CAST(result AS CHAR) AS Result,
        error_message AS ErrorMessage, retry_count AS RetryCount, retry_of AS RetryOf, backfill_of AS BackfillOf, user_id AS UserId,
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
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
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
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
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

    /// <summary>The row as Dapper reads it; JSON columns arrive as text.</summary>
    private sealed record Row(
        string ExecutionId, long? TaskId, string? ScriptId, string InterfaceName, string TargetTable, string Status, string TriggeredBy,
        string? Parameters, DateTime CreatedAt, DateTime? StartTime, DateTime? EndTime, double? ExecutionTime, int Progress,
        long? RowsFetched, long? RowsBefore, long? RowsAfter, long? RowsAffected, long? RowsInserted, long? RowsUpdated,
        string? Result, string? ErrorMessage, int RetryCount, string? RetryOf, string? BackfillOf, long? UserId, int? PartsTotal, int? PartsDone, int? PartsFailed,
        long? PartsRunning, long? PartsWaiting, long? CallsLastMinute, string? Sources)
    {
        public ExecutionView ToView() => new(ExecutionId, TaskId, ScriptId, InterfaceName, TargetTable, Status, TriggeredBy,
            Given(Parameters, Sources), CreatedAt, StartTime, EndTime, ExecutionTime, Progress, RowsFetched, RowsBefore, RowsAfter,
            RowsAffected, RowsInserted, RowsUpdated, Json(Result), ErrorMessage, RetryCount, RetryOf, BackfillOf, PartsTotal, PartsDone, PartsFailed,
            (int?)PartsRunning, (int?)PartsWaiting, CallsLastMinute is { } calls ? Math.Round(calls / (double)RateWindowSeconds, 2) : null,
            Sources is null ? null : $"/api/executions/{ExecutionId}/parts");

        /// <summary>The values with each source as the request gave it; what the plan fixed besides (the date's format,
        /// the key columns matched) is the engine's, not the caller's.</summary>
        private static JsonElement? Given(string? parameters, string? sources)
        {
            if (sources is null) return Json(parameters);
            var given = (parameters is null ? null : JsonNode.Parse(parameters) as JsonObject) ?? [];
            foreach (var (name, source) in ValueSource.Deserialize(sources))
            {
                var shown = new JsonObject();
                if (source.Values is { } values) shown["values"] = new JsonArray([.. values.Select(v => JsonValue.Create(v))]);
                if (source.FromTable is { } table)
                {
                    shown["from_table"] = table;
                    shown["column"] = source.Column;
                    if (source.Filter is { Count: > 0 } filter) shown["filter"] = JsonSerializer.SerializeToNode(filter);
                }

                // A backfill's parts are listed as parts (part_values), not again here.
                if (source.Parts is { } parts) shown["parts"] = parts.Count;
                if (source.SinceLast is { } column)
                {
                    shown["since_last"] = column;
                    shown["overlap_days"] = source.OverlapDays;
                }

                given[name] = shown;
            }

            return JsonSerializer.SerializeToElement(given);
        }

        /// <summary>The window of calls_per_second, in seconds.</summary>
        public const int RateWindowSeconds = 60;

        private static JsonElement? Json(string? text)
        {
            if (text is null) return null;
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
    }
}
