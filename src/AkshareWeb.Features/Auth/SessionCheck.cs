using Dapper;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>
/// Every authenticated request's check beyond the signature: the user must still exist and be active, the token's
/// version must be the account's current one (a password reset bumps it) and its session must not be revoked
/// (logout, refresh-token reuse). The role comes from the account, so a demotion applies at once.
/// </summary>
public sealed class SessionCheck(Database database)
{
    /// <summary>The account's role now; null when the token may no longer be used.</summary>
    public async Task<string?> RoleAsync(long userId, string sessionId, int tokenVersion, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        // The account and its session in one primary-key lookup: every request pays for this statement, so it reads
        // Accounts' table itself instead of asking UserAccounts in a second round trip.
        var state = await connection.QuerySingleOrDefaultAsync<(string Role, bool IsActive, int TokenVersion, bool Revoked)>(new CommandDefinition("""
            SELECT u.role, u.is_active, u.token_version,
                   COALESCE((SELECT s.revoked_at IS NOT NULL FROM auth_sessions s WHERE s.id = @sessionId AND s.user_id = u.id), 1)
            FROM users u WHERE u.id = @userId
            """, new { userId, sessionId }, cancellationToken: ct));
        return state.Role is null || !state.IsActive || state.TokenVersion != tokenVersion || state.Revoked ? null : state.Role;
    }
}
