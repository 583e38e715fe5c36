using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Tasks;

/// <summary>
/// A user who is deactivated or deleted must stop collecting: their active tasks are paused with the reason
/// (shown to admins as paused_reason) and their Hangfire jobs removed. Reactivating the user does not resume
/// them; the owner or an admin does, task by task.
/// </summary>
public sealed class OwnerTasks(ScheduleRegistrar scheduler, TimeProvider time)
{
    /// <summary>Pauses the owner's active tasks inside the caller's transaction; returns their ids for
    /// <see cref="UnscheduleAsync"/>, which must run after the commit.</summary>
    public async Task<IReadOnlyList<long>> PauseAsync(MySqlConnection connection, MySqlTransaction transaction, long ownerId, string reason, CancellationToken ct)
    {
        var ids = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM scheduled_tasks WHERE owner_id = @ownerId AND is_active = 1 FOR UPDATE",
            new { ownerId }, transaction, cancellationToken: ct))).ToList();
        if (ids.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE scheduled_tasks SET is_active = 0, paused_reason = @reason, updated_at = @now WHERE id IN @ids",
                new { reason, now = time.GetUtcNow().UtcDateTime, ids }, transaction, cancellationToken: ct));
        }

        return ids;
    }

    public async Task UnscheduleAsync(MySqlConnection connection, IReadOnlyList<long> taskIds, CancellationToken ct)
    {
        foreach (var id in taskIds)
        {
            await scheduler.RemoveAsync(connection, id, ct);
        }
    }
}
