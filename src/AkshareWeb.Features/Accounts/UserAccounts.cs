using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Accounts;

/// <summary>A user as the API shows it. <c>awaiting_approval</c>: registered while registration needs an admin's
/// approval, and not yet activated.</summary>
public sealed record UserAccount(long Id, string Username, string Email, string Role, bool IsActive, bool AwaitingApproval, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>The user reads and revocations that Auth and Users share: the account store both areas use, so neither
/// uses the other.</summary>
public sealed class UserAccounts(Database database, TimeProvider time)
{
    public const string Columns =
        "id, username, email, role, is_active AS IsActive, awaiting_approval AS AwaitingApproval, created_at AS CreatedAt, updated_at AS UpdatedAt";

    public async Task<UserAccount?> FindAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await FindAsync(connection, null, id, ct);
    }

    public static Task<UserAccount?> FindAsync(MySqlConnection connection, MySqlTransaction? transaction, long id, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<UserAccount>(new CommandDefinition(
            $"SELECT {Columns} FROM users WHERE id = @id", new { id }, transaction, cancellationToken: ct));

    /// <summary>The ids of the active admins (whose <c>all</c> notification channels hear of everything).</summary>
    public static async Task<IReadOnlyList<long>> ActiveAdminIdsAsync(MySqlConnection connection, MySqlTransaction? transaction, CancellationToken ct) =>
        (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM users WHERE role = 'admin' AND is_active = 1", transaction: transaction, cancellationToken: ct))).AsList();

    /// <summary>Makes every token of the user unusable: bumps the token version checked on each request and
    /// ends every session, so refresh tokens die too.</summary>
    public async Task RevokeAllTokensAsync(MySqlConnection connection, MySqlTransaction transaction, long userId, string reason, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET token_version = token_version + 1, updated_at = @now WHERE id = @userId",
            new { now, userId }, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE auth_sessions SET revoked_at = @now, revoked_reason = @reason WHERE user_id = @userId AND revoked_at IS NULL",
            new { now, userId, reason }, transaction, cancellationToken: ct));
    }

    /// <summary>The first administrator still active (the lowest id), if any: the owner of what the service sets up by itself.</summary>
    public static Task<long?> FirstActiveAdminAsync(MySqlConnection connection, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MIN(id) FROM users WHERE role = 'admin' AND is_active = 1", cancellationToken: ct));

    /// <summary>Active admins other than <paramref name="exceptUserId"/>, counted under a lock so that two
    /// concurrent demotions cannot both see "another admin is left".</summary>
    public static Task<long> CountOtherActiveAdminsAsync(MySqlConnection connection, MySqlTransaction transaction, long exceptUserId, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM (SELECT id FROM users WHERE role = 'admin' AND is_active = 1 AND id <> @exceptUserId FOR UPDATE) a",
            new { exceptUserId }, transaction, cancellationToken: ct));
}
