using System.Security.Claims;
using System.Text.Json;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>An execution as the API shows it.</summary>
public sealed record ExecutionView(
    string ExecutionId, long? TaskId, string? ScriptId, string InterfaceName, string TargetTable, string Status, string TriggeredBy,
    JsonElement? Parameters, DateTime CreatedAt, DateTime? StartTime, DateTime? EndTime, double? ExecutionTime, int Progress,
    long? RowsFetched, long? RowsBefore, long? RowsAfter, long? RowsAffected, long? RowsInserted, long? RowsUpdated,
    JsonElement? Result, string? ErrorMessage, int RetryCount, string? RetryOf, int? PartsTotal, int? PartsDone, int? PartsFailed);

public static class ExecutionStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Timeout = "timeout";
    public static readonly string[] All = [Pending, Running, Completed, Failed, Cancelled, Timeout];
    public static readonly string[] Finished = [Completed, Failed, Cancelled, Timeout];
}

/// <summary>Reads of executions shared by the execution, task and download slices. Users see the executions they
/// started or that their tasks started; admins see all. Someone else's execution is "not found".</summary>
public static class ExecutionRecords
{
    public const string Columns = """
        execution_id AS ExecutionId, task_id AS TaskId, script_id AS ScriptId, interface_name AS InterfaceName,
        target_table AS TargetTable, status, triggered_by AS TriggeredBy, CAST(parameters AS CHAR) AS Parameters,
        created_at AS CreatedAt, start_time AS StartTime, end_time AS EndTime, execution_time AS ExecutionTime, progress,
        rows_fetched AS RowsFetched, rows_before AS RowsBefore, rows_after AS RowsAfter, rows_affected AS RowsAffected,
        rows_inserted AS RowsInserted, rows_updated AS RowsUpdated, CAST(result AS CHAR) AS Result,
        error_message AS ErrorMessage, retry_count AS RetryCount, retry_of AS RetryOf, user_id AS UserId,
        parts_total AS PartsTotal, parts_done AS PartsDone, parts_failed AS PartsFailed
        """;

    /// <summary>The visibility filter for a caller, as SQL over the alias-free executions table.</summary>
    public static string VisibleTo(ClaimsPrincipal caller) => caller.IsAdmin() ? "1 = 1" : "user_id = @callerId";

    public static async Task<ExecutionView?> FindAsync(MySqlConnection connection, string executionId, ClaimsPrincipal caller, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM executions WHERE execution_id = @executionId AND {VisibleTo(caller)}",
            new { executionId, callerId = caller.Id() }, cancellationToken: ct));
        return row?.ToView();
    }

    public static async Task<IReadOnlyList<ExecutionView>> QueryAsync(MySqlConnection connection, string sql, object args, CancellationToken ct) =>
        (await connection.QueryAsync<Row>(new CommandDefinition(sql, args, cancellationToken: ct))).Select(r => r.ToView()).ToList();

    /// <summary>The row as Dapper reads it; JSON columns arrive as text.</summary>
    public sealed record Row(
        string ExecutionId, long? TaskId, string? ScriptId, string InterfaceName, string TargetTable, string Status, string TriggeredBy,
        string? Parameters, DateTime CreatedAt, DateTime? StartTime, DateTime? EndTime, double? ExecutionTime, int Progress,
        long? RowsFetched, long? RowsBefore, long? RowsAfter, long? RowsAffected, long? RowsInserted, long? RowsUpdated,
        string? Result, string? ErrorMessage, int RetryCount, string? RetryOf, long? UserId, int? PartsTotal, int? PartsDone, int? PartsFailed)
    {
        public ExecutionView ToView() => new(ExecutionId, TaskId, ScriptId, InterfaceName, TargetTable, Status, TriggeredBy,
            Json(Parameters), CreatedAt, StartTime, EndTime, ExecutionTime, Progress, RowsFetched, RowsBefore, RowsAfter,
            RowsAffected, RowsInserted, RowsUpdated, Json(Result), ErrorMessage, RetryCount, RetryOf, PartsTotal, PartsDone, PartsFailed);

        private static JsonElement? Json(string? text)
        {
            if (text is null) return null;
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
    }
}
