using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Features.Tasks;

/// <summary>
/// The Hangfire job behind every task's schedule. It turns a due time into one pending execution: the
/// execution's schedule key (task + due time) is unique, so even a second fire of the same due time — two
/// instances, a retried Hangfire job — cannot start a second run.
/// </summary>
public sealed class DueTaskJob(Database database, TaskLauncher launcher, TimeProvider time, ILogger<DueTaskJob> logger)
{
    /// <summary>The name Hangfire stored for this job before it was renamed (it was TaskTrigger): recurring and
    /// once jobs registered then still name it, and resolve to this class (Setup/Scheduling.cs).</summary>
    public const string FormerTypeName = "AkshareWeb.Features.Tasks.TaskTrigger";

    /// <summary>
    /// Fires the task's due time; a lost database node or certification repeats the fire whole on a new connection
    /// (<see cref="Failover"/>). The schedule key keeps a repeat from making a second run, and a repeat after an
    /// attempt that may have made the run (its answer lost) starts that run if it is still waiting without a job.
    /// </summary>
    public async Task FireAsync(long taskId, CancellationToken ct)
    {
        var attempts = 0;
        await database.RetryAsync(token => FireOnceAsync(taskId, resume: attempts++ > 0, token), ct, logger, $"Firing task {taskId}");
    }

    private async Task FireOnceAsync(long taskId, bool resume, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var task = await TaskStore.FindAsync(connection, null, taskId, false, ct);
        if (task is null || !task.IsActive)
        {
            return;
        }

        // Belt and braces: deactivating or deleting the owner pauses their tasks, but a fire already queued (or a
        // job whose removal failed) must not run for them either.
        // The run acts for the owner, under the rules a request of theirs would meet.
        Caller? owner = null;
        if (task.OwnerId is { } ownerId)
        {
            var account = await UserAccounts.StandingAsync(connection, null, ownerId, ct);
            if (account is not { IsActive: true } active)
            {
                logger.LogWarning("Task {TaskId} not run: its owner {OwnerId} is deactivated or deleted", task.Id, ownerId);
                return;
            }

            owner = new Caller(ownerId, active.Role == Roles.Admin);
        }

        var now = time.GetUtcNow().UtcDateTime;
        string scheduleKey;
        switch (task.ScheduleType)
        {
            case ScheduleTypes.Cron:
                var due = ScheduleRules.LatestCronOccurrenceUtc(task.ScheduleExpression, ScheduleRules.Zone(task.TimeZone), now) ?? now;
                scheduleKey = $"{task.Id}@{due:yyyy-MM-ddTHH:mm:ss}";
                break;

            case ScheduleTypes.Interval:
                if (task.NextDueAt is not { } nextDue || nextDue > now)
                {
                    return;
                }

                // Skip due times missed while paused or down, but keep the grid: no drift, no burst of catch-up runs.
                var interval = TimeSpan.FromSeconds(ScheduleRules.IntervalSeconds(task.ScheduleExpression));
                var steps = (long)Math.Floor((now - nextDue) / interval) + 1;
                scheduleKey = $"{task.Id}@{nextDue:yyyy-MM-ddTHH:mm:ss.ffffff}";
                // The run first, then the due time moves on: a fire cut off between the two (a database node lost)
                // leaves the due time for the next tick, whose run the schedule key refuses; the other way round the
                // due time would be gone without a run. A run refused for good (its script gone) moves it on too.
                try
                {
                    if (!await StartUnlessBusyAsync(connection, task, owner, scheduleKey, resume, ct))
                    {
                        return;
                    }
                }
                catch (Exception e) when (!Failover.IsTransient(e))
                {
                    await AdvanceAsync(connection, task.Id, nextDue, nextDue + (interval * steps), ct);
                    throw;
                }

                await AdvanceAsync(connection, task.Id, nextDue, nextDue + (interval * steps), ct);
                return;

            case ScheduleTypes.Once:
                scheduleKey = $"{task.Id}@once:{task.ScheduleExpression}";
                break;

            default:
                logger.LogWarning("Task {TaskId} has an unknown schedule type {Type}", task.Id, task.ScheduleType);
                return;
        }

        // The launcher records the run as the task's last (last_execution_at), whoever started it.
        if (task.ScheduleType == ScheduleTypes.Cron)
        {
            await StartUnlessBusyAsync(connection, task, owner, scheduleKey, resume, ct);
        }
        else
        {
            // A once schedule has no next due time to wait for: it runs even behind a manual run of its task.
            await launcher.StartAsync(task, owner, "scheduler", scheduleKey, ct, resume);
        }
    }

    /// <summary>
    /// Starts the due time's run unless the task's previous run still waits or runs: then the due time is skipped
    /// (true, logged). A second run would fetch the same rows again beside the first, its counts mixed with the
    /// first's writes, and a schedule shorter than its runs would pile pending runs up without end. A run under this
    /// very schedule key is no reason to skip: it is a repeat's own run, which the launcher starts if it still waits.
    /// False when the task's lock stayed taken (a manual start of it at that moment): the next tick tries again.
    /// </summary>
    private async Task<bool> StartUnlessBusyAsync(MySqlConnection connection, TaskRow task, Caller? owner, string scheduleKey, bool resume, CancellationToken ct)
    {
        var lockName = TaskRunQuota.TaskLockName(connection.Database, task.Id);
        if (await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@lockName, 10)", new { lockName }, cancellationToken: ct)) != 1)
        {
            logger.LogInformation("Task {TaskId}: due time {ScheduleKey} waits for the next tick: its task lock is taken", task.Id, scheduleKey);
            return false;
        }

        try
        {
            if (await TaskRunQuota.OpenRunAsync(connection, task.Id, ct) is { } open && open.ScheduleKey != scheduleKey)
            {
                logger.LogWarning("Task {TaskId}: due time {ScheduleKey} skipped, its run {ExecutionId} is still {Status}",
                    task.Id, scheduleKey, open.ExecutionId, open.Status);
                return true;
            }

            await launcher.StartAsync(task, owner, "scheduler", scheduleKey, ct, resume);
            return true;
        }
        finally
        {
            // Not with ct: the lock must go even when the fire is cancelled (a connection that died took it already).
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@lockName)", new { lockName }));
            }
        }
    }

    private static Task AdvanceAsync(MySqlConnection connection, long taskId, DateTime due, DateTime next, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            "UPDATE scheduled_tasks SET next_due_at = @next WHERE id = @taskId AND next_due_at = @due", new { next, taskId, due }, cancellationToken: ct));
}
