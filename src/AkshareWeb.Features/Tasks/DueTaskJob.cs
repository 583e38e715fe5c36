using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

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
                    await launcher.StartAsync(task, owner, "scheduler", scheduleKey, ct, resume);
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
        await launcher.StartAsync(task, owner, "scheduler", scheduleKey, ct, resume);
    }

    private static Task AdvanceAsync(MySqlConnection connection, long taskId, DateTime due, DateTime next, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            "UPDATE scheduled_tasks SET next_due_at = @next WHERE id = @taskId AND next_due_at = @due", new { next, taskId, due }, cancellationToken: ct));
}
