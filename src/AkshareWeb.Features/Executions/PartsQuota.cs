using Dapper;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The cap on an ordinary user's parts waiting (user_max_parts_waiting; admins have none): a parted run whose parts,
/// with those the user's other runs still have pending, would pass it fails at its start, before its parts are written,
/// and says why. A part waiting is a call queued behind its site's rate, so the cap bounds how long one user's runs
/// keep a slot busy, whatever they asked for at once: a download is one job of user_max_running_jobs however many parts
/// it has. A retry's parts, copied from the run it repeats, count the same way.
/// </summary>
public sealed class PartsQuota(SystemSettings settings, UserLock locks)
{
    /// <summary>
    /// Decides under the user's quota lock (<see cref="UserLock"/>, the lock their requests' quotas take) and keeps it until
    /// disposed: write the new parts, or cancel the copied ones, before disposing. Two runs of one user starting at once
    /// would otherwise both count the other's parts as not there yet, and both pass. This run's parts are
    /// <paramref name="newParts"/> about to be written plus those it already has pending (a retry's copies).
    /// The only lock taken: a worker holds its slot's lock here, which nobody ever waits for.
    /// </summary>
    public async Task<Decision> EnterAsync(string executionId, long? userId, int newParts, CancellationToken ct)
    {
        if (userId is not { } user) return new Decision(null, null);
        var held = await TakeAsync(user, ct);
        try
        {
            var connection = held.Connection;
            if ((await UserAccounts.ActiveAdminIdsAsync(connection, null, ct)).Contains(user)) return new Decision(held, null);
            var limit = (await settings.GetExecutionSettingsAsync(ct)).UserMaxPartsWaiting;
            var (others, own) = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition("""
                SELECT CAST(COALESCE(SUM(e.execution_id <> @executionId), 0) AS SIGNED), CAST(COALESCE(SUM(e.execution_id = @executionId), 0) AS SIGNED)
                FROM execution_parts p JOIN executions e ON e.execution_id = p.execution_id
                WHERE e.user_id = @user AND e.status = @running AND p.status = 'pending'
                """, new { user, running = ExecutionStatuses.Running, executionId }, cancellationToken: ct));
            var parts = own + newParts;
            return new Decision(held, others + parts <= limit ? null
                : $"quota user_max_parts_waiting reached: this run's {parts} parts and the {others} your other runs have waiting would pass {limit}; run it again once those have ended, or over fewer values");
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    /// <summary>The lock answers 429 to a request after 10 s; a run that has its slot waits on: the lock's holders are
    /// requests and other starts, each holding it for a moment.</summary>
    private async Task<UserLock.Held> TakeAsync(long user, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return await locks.TakeAsync(user, ct);
            }
            catch (ApiError e) when (e.Status == 429 && !ct.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>Why the run may not have its parts (null when it may), and the user's lock, held until disposed.</summary>
    public sealed class Decision(UserLock.Held? held, string? refusal) : IAsyncDisposable
    {
        public string? Refusal { get; } = refusal;

        public ValueTask DisposeAsync() => held?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
