using Dapper;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Tasks;

/// <summary>
/// The task quotas of ordinary users (admins have none): how many tasks one may own and how often one's task may
/// run, read from the settings at every check.
/// </summary>
public sealed class TaskQuotas(SystemSettings settings, UserLock locks)
{
    /// <summary>Answers 409 naming the quota when the caller already owns as many tasks as allowed; holds the
    /// caller's quota lock until disposed, so the new task is in before the next request counts.</summary>
    public async Task<IAsyncDisposable> EnterCreationAsync(Caller caller, CancellationToken ct)
    {
        if (caller.IsAdmin) return NoLock.Instance;

        var limit = (await settings.GetExecutionSettingsAsync(ct)).UserMaxTasks;
        var held = await locks.TakeAsync(caller.Id, ct);
        try
        {
            var owned = await held.Connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM scheduled_tasks WHERE owner_id = @userId", new { userId = caller.Id }, cancellationToken: ct));
            if (owned >= limit)
            {
                throw new ApiError(409, ErrorCodes.General,
                    $"quota user_max_tasks reached: a user may own at most {limit} tasks; delete one first",
                    new { quota = "user_max_tasks", limit, owned });
            }

            return held;
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    /// <summary>Answers 409 naming the quota when an ordinary user's schedule runs more often than allowed.
    /// <paramref name="shortestGap"/> gets the quota and may stop looking at the first gap shorter than it.</summary>
    public async Task CheckScheduleAsync(Func<TimeSpan, TimeSpan?> shortestGap, Caller caller, CancellationToken ct)
    {
        if (caller.IsAdmin) return;

        var minutes = (await settings.GetExecutionSettingsAsync(ct)).UserMinScheduleMinutes;
        if (shortestGap(TimeSpan.FromMinutes(minutes)) is { } gap && gap < TimeSpan.FromMinutes(minutes))
        {
            throw new ApiError(409, ErrorCodes.General,
                $"quota user_min_schedule_minutes: a user's task may run at most every {minutes} minutes; this schedule runs {gap.TotalSeconds:0} s apart",
                new { quota = "user_min_schedule_minutes", limit = minutes, shortest_gap_seconds = (long)gap.TotalSeconds });
        }
    }

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
