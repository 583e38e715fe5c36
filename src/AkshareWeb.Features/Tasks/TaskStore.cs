using System.Text.Json;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Features.Tasks;

/// <summary>A task as stored.</summary>
public sealed record TaskRow(
    long Id, string Name, string? Description, string ScriptId, string ScheduleType, string ScheduleExpression, string TimeZone,
    string Parameters, bool IsActive, bool RetryOnFailure, int MaxRetries, int? TimeoutSeconds, long? OwnerId,
    DateTime? NextDueAt, DateTime? LastExecutionAt, DateTime CreatedAt, DateTime UpdatedAt, string? PausedReason, int? Concurrency,
    int? MaxRunMinutes, bool Backfill);

/// <summary>A task as the API shows it, with the times computed from its schedule. <c>max_run_minutes</c>: how long a
/// parted run of it may take in all (null: the default_max_run_minutes setting; 0: no limit). <c>backfill</c>: each run
/// that completed or failed is followed by one backfill run of the days still missing for its keys in its range.</summary>
public sealed record TaskView(
    long Id, string Name, string? Description, string ScriptId, string ScheduleType, string ScheduleExpression, string TimeZone,
    JsonElement Parameters, bool IsActive, bool RetryOnFailure, int MaxRetries, int? TimeoutSeconds, long? OwnerId,
    DateTime? LastExecutionAt, DateTime? NextExecutionAt, string? LastStatus, DateTime CreatedAt, DateTime UpdatedAt,
    string? PausedReason, int? Concurrency, int? MaxRunMinutes, bool Backfill);

/// <summary>Reads of tasks that several slices share, with the ownership rule: users see their own tasks,
/// admins all; someone else's task is "not found" rather than "forbidden", so ids reveal nothing. Also what a
/// task's runs ask of it (<see cref="ITaskRunRules"/>).</summary>
public sealed class TaskStore(Database database, TimeProvider time, ExecutionReads executions) : ITaskRunRules
{
    public const string Columns = """
        id, name, description, script_id AS ScriptId, schedule_type AS ScheduleType, schedule_expression AS ScheduleExpression,
        time_zone AS TimeZone, CAST(parameters AS CHAR) AS Parameters, is_active AS IsActive, retry_on_failure AS RetryOnFailure,
        max_retries AS MaxRetries, timeout_seconds AS TimeoutSeconds, owner_id AS OwnerId, next_due_at AS NextDueAt,
        last_execution_at AS LastExecutionAt, created_at AS CreatedAt, updated_at AS UpdatedAt, paused_reason AS PausedReason, concurrency AS Concurrency,
        max_run_minutes AS MaxRunMinutes, backfill AS Backfill
        """;

    public static Task<TaskRow?> FindAsync(MySqlConnection connection, MySqlTransaction? transaction, long id, bool forUpdate, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<TaskRow>(new CommandDefinition(
            $"SELECT {Columns} FROM scheduled_tasks WHERE id = @id{(forUpdate ? " FOR UPDATE" : "")}", new { id }, transaction, cancellationToken: ct));

    public async Task<TaskRow?> FindAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await FindAsync(connection, null, id, false, ct);
    }

    public async Task<TaskRunRules?> ForTaskAsync(long taskId, CancellationToken ct) =>
        await FindAsync(taskId, ct) is { } task ? new TaskRunRules(task.Name, task.OwnerId, task.TimeoutSeconds, task.RetryOnFailure, task.MaxRetries, task.MaxRunMinutes, task.Backfill) : null;

    /// <summary>The task if the caller may see it, else a 404.</summary>
    public static TaskRow Visible(TaskRow? task, Caller caller) =>
        task is not null && caller.MayActOn(task.OwnerId) ? task : throw ApiError.NotFound("task");

    /// <summary>The task as shown, with the status of its latest execution (Executions knows it).</summary>
    public async Task<TaskView> ViewAsync(TaskRow task, CancellationToken ct) =>
        View(task, (await executions.LatestStatusesAsync([task.Id], ct)).GetValueOrDefault(task.Id));

    public TaskView View(TaskRow task, string? lastStatus)
    {
        DateTime? next = null;
        if (task.IsActive)
        {
            next = ScheduleRules.NextUtc(task.ScheduleType, task.ScheduleExpression, ScheduleRules.Zone(task.TimeZone),
                time.GetUtcNow().UtcDateTime, task.NextDueAt);
        }

        using var parameters = JsonDocument.Parse(task.Parameters);
        return new TaskView(task.Id, task.Name, task.Description, task.ScriptId, task.ScheduleType, task.ScheduleExpression, task.TimeZone,
            parameters.RootElement.Clone(), task.IsActive, task.RetryOnFailure, task.MaxRetries, task.TimeoutSeconds, task.OwnerId,
            task.LastExecutionAt, next, lastStatus, task.CreatedAt, task.UpdatedAt, task.IsActive ? null : task.PausedReason, task.Concurrency, task.MaxRunMinutes, task.Backfill);
    }
}
