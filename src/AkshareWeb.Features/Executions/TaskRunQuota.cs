using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The gate of a task's manual run and of a retry of one: a task has at most one run pending or running (a second is
/// 409 naming it), and an ordinary user at most user_max_task_runs runs of their tasks pending or running at once (429
/// naming the quota). Scheduled runs count among a user's runs but are never refused here: a due time is the owner's
/// plan, and the slots' fair sharing (<see cref="SlotFairness"/>) is what keeps them from crowding others out.
/// </summary>
public sealed class TaskRunQuota(Database database, SystemSettings settings, UserLock locks)
{
    /// <summary>
    /// Checks both rules and holds, until disposed, the user's quota lock and the task's lock on every instance: dispose
    /// once the new execution row exists, which then counts by itself (eight requests at once make one run, not eight).
    /// </summary>
    public async Task<IAsyncDisposable> EnterAsync(Caller caller, long taskId, CancellationToken ct)
    {
        // The user's lock first, then the task's: the one order everywhere, so two requests never wait on each other.
        var held = caller.IsAdmin ? null : await locks.TakeAsync(caller.Id, ct);
        MySqlConnection connection;
        try
        {
            connection = held?.Connection ?? await database.OpenAsync(ct);
        }
        catch
        {
            if (held is not null) await held.DisposeAsync();
            throw;
        }

        var lease = new Lease(held, connection, TaskLockName(connection.Database, taskId));
        try
        {
            if (await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@name, 10)", new { name = lease.TaskLock }, cancellationToken: ct)) != 1)
            {
                throw new ApiError(429, ErrorCodes.General, "too many requests for this task at once; try again") { RetryAfterSeconds = 1 };
            }

            lease.TaskLockHeld = true;
            if (await OpenRunAsync(connection, taskId, ct) is { } run)
            {
                throw new ApiError(409, ErrorCodes.General,
                    $"task {taskId} already has a run {run.Status} ({run.ExecutionId}); wait for it to end or cancel it first",
                    new { task_id = taskId, execution_id = run.ExecutionId, status = run.Status });
            }

            if (held is not null) await CheckQuotaAsync(connection, caller, ct);
            return lease;
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }
    }

    /// <summary>The name of a task's lock on every instance. A manual run, a retry and a schedule's fire of the task take
    /// it around "has the task a run?" and the new run's row, so only one of them can find none and start one.</summary>
    public static string TaskLockName(string database, long taskId) => ServerLockName.For(database, $"task-run:{taskId}");

    /// <summary>The task's oldest run still pending or running, if any.</summary>
    public static Task<OpenRun?> OpenRunAsync(MySqlConnection connection, long taskId, CancellationToken ct) =>
        connection.QueryFirstOrDefaultAsync<OpenRun?>(new CommandDefinition("""
            SELECT execution_id AS ExecutionId, status AS Status, schedule_key AS ScheduleKey
            FROM executions WHERE task_id = @taskId AND status IN (@pending, @running) ORDER BY id LIMIT 1
            """, new { taskId, pending = ExecutionStatuses.Pending, running = ExecutionStatuses.Running }, cancellationToken: ct));

    public sealed record OpenRun(string ExecutionId, string Status, string? ScheduleKey);

    private async Task CheckQuotaAsync(MySqlConnection connection, Caller caller, CancellationToken ct)
    {
        var limit = (await settings.GetExecutionSettingsAsync(ct)).UserMaxTaskRuns;
        var open = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            SELECT COUNT(*) FROM executions WHERE user_id = @userId AND task_id IS NOT NULL AND status IN (@pending, @running)
            """, new { userId = caller.Id, pending = ExecutionStatuses.Pending, running = ExecutionStatuses.Running }, cancellationToken: ct));
        if (open >= limit)
        {
            throw new ApiError(429, ErrorCodes.General,
                $"quota user_max_task_runs reached: at most {limit} runs of your tasks (manual, retries and scheduled) may be pending or running at once; wait for one to end",
                new { quota = "user_max_task_runs", limit, open }) { RetryAfterSeconds = 5 };
        }
    }

    private sealed class Lease(UserLock.Held? held, MySqlConnection connection, string taskLock) : IAsyncDisposable
    {
        public string TaskLock { get; } = taskLock;

        public bool TaskLockHeld { get; set; }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (TaskLockHeld) await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name = TaskLock }));
            }
            finally
            {
                // The user's lock goes with its connection; an admin's connection was opened here.
                if (held is not null) await held.DisposeAsync();
                else await connection.DisposeAsync();
            }
        }
    }
}
