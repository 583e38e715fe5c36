using Dapper;
using Hangfire;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace AkshareWeb.Features.Tasks;

/// <summary>
/// Keeps Hangfire in step with a task: cron and interval tasks are one recurring job each (an interval task
/// ticks and fires when due), a once task is one scheduled job. Hangfire's recurring scheduler takes a
/// distributed lock per job, so a due time fires once however many instances run.
/// </summary>
public sealed class ScheduleRegistrar(IRecurringJobManager recurring, IBackgroundJobClient jobs, IOptions<SchedulerOptions> options)
{
    public static string RecurringJobId(long taskId) => $"task-{taskId}";

    /// <summary>Registers (or re-registers after a change) the job of an active task; removes it otherwise.</summary>
    public async Task ApplyAsync(MySqlConnection connection, TaskRow task, CancellationToken ct)
    {
        await RemoveAsync(connection, task.Id, ct);
        if (!task.IsActive)
        {
            return;
        }

        var zone = ScheduleRules.Zone(task.TimeZone);
        switch (task.ScheduleType)
        {
            case ScheduleTypes.Cron:
                recurring.AddOrUpdate<DueTaskJob>(RecurringJobId(task.Id), t => t.FireAsync(task.Id, CancellationToken.None),
                    task.ScheduleExpression, new RecurringJobOptions { TimeZone = zone });
                break;
            case ScheduleTypes.Interval:
                recurring.AddOrUpdate<DueTaskJob>(RecurringJobId(task.Id), t => t.FireAsync(task.Id, CancellationToken.None),
                    options.Value.IntervalTickCron, new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
                break;
            case ScheduleTypes.Once:
                var at = ScheduleRules.OnceAtUtc(task.ScheduleExpression, zone);
                var jobId = jobs.Schedule<DueTaskJob>(t => t.FireAsync(task.Id, CancellationToken.None), new DateTimeOffset(at, TimeSpan.Zero));
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE scheduled_tasks SET once_job_id = @jobId WHERE id = @id", new { jobId, id = task.Id }, cancellationToken: ct));
                break;
        }
    }

    public async Task RemoveAsync(MySqlConnection connection, long taskId, CancellationToken ct)
    {
        recurring.RemoveIfExists(RecurringJobId(taskId));
        var onceJob = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT once_job_id FROM scheduled_tasks WHERE id = @taskId", new { taskId }, cancellationToken: ct));
        if (onceJob is not null)
        {
            jobs.Delete(onceJob);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE scheduled_tasks SET once_job_id = NULL WHERE id = @taskId", new { taskId }, cancellationToken: ct));
        }
    }
}
