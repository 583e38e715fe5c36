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
/// it has.
/// </summary>
public sealed class PartsQuota(Database database, SystemSettings settings)
{
    /// <summary>Why the run may not have <paramref name="parts"/> parts now; null when it may.</summary>
    public async Task<string?> RefusalAsync(string executionId, long? userId, int parts, CancellationToken ct)
    {
        if (userId is not { } user) return null;
        await using var connection = await database.OpenAsync(ct);
        if ((await UserAccounts.ActiveAdminIdsAsync(connection, null, ct)).Contains(user)) return null;
        var limit = (await settings.GetExecutionSettingsAsync(ct)).UserMaxPartsWaiting;
        var waiting = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            SELECT COUNT(*) FROM execution_parts p JOIN executions e ON e.execution_id = p.execution_id
            WHERE e.user_id = @user AND e.status = @running AND e.execution_id <> @executionId AND p.status = 'pending'
            """, new { user, running = ExecutionStatuses.Running, executionId }, cancellationToken: ct));
        return waiting + parts <= limit ? null
            : $"quota user_max_parts_waiting reached: this run's {parts} parts and the {waiting} your other runs have waiting would pass {limit}; run it again once those have ended, or over fewer values";
    }
}
