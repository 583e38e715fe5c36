using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Accounts;

/// <summary>A user as the API shows it. <c>awaiting_approval</c>: registered while registration needs an admin's
/// approval, and not yet activated.</summary>
public sealed record UserAccount(long Id, string Username, string Email, string Role, bool IsActive, bool AwaitingApproval, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>An account as a login checks it.</summary>
public sealed record AccountCredentials(long Id, string Role, bool IsActive, bool AwaitingApproval, int TokenVersion, string PasswordHash);

/// <summary>An account's standing as a token is checked against it: its role now, whether it may act, its token version.</summary>
public sealed record AccountStanding(string Role, bool IsActive, int TokenVersion);

/// <summary>A new account; <paramref name="PasswordHash"/> from <see cref="Passwords"/>.</summary>
public sealed record NewAccount(string Username, string Email, string PasswordHash, string Role, bool IsActive, bool AwaitingApproval = false);

/// <summary>What an admin changes of an account; null keeps the value.</summary>
public sealed record AccountChanges(string? Email, string? Role, bool? IsActive);

/// <summary>
/// The <c>users</c> table: every read and write of an account, for Auth (sign-in, registration, own password), Users
/// (administration), Tasks (a task's owner) and Notifications, so none of them uses another. Methods that take a
/// connection and a transaction run inside the caller's, which holds the row (FOR UPDATE) while it decides.
/// </summary>
public sealed class UserAccounts(Database database, TimeProvider time)
{
    private const string Columns =
        "id, username, email, role, is_active AS IsActive, awaiting_approval AS AwaitingApproval, created_at AS CreatedAt, updated_at AS UpdatedAt";

    public async Task<UserAccount?> FindAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await FindAsync(connection, null, id, ct);
    }

    public static Task<UserAccount?> FindAsync(MySqlConnection connection, MySqlTransaction? transaction, long id, CancellationToken ct, bool forUpdate = false) =>
        connection.QuerySingleOrDefaultAsync<UserAccount>(new CommandDefinition(
            $"SELECT {Columns} FROM users WHERE id = @id{(forUpdate ? " FOR UPDATE" : "")}", new { id }, transaction, cancellationToken: ct));

    /// <summary>
    /// The account a login names. The column's collation (utf8mb4_unicode_ci, PAD SPACE) folds case, accents and
    /// trailing spaces, so every spelling of a name finds its one account.
    /// </summary>
    public static Task<AccountCredentials?> CredentialsAsync(MySqlConnection connection, string username, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<AccountCredentials>(new CommandDefinition("""
            SELECT id, role, is_active AS IsActive, awaiting_approval AS AwaitingApproval, token_version AS TokenVersion, password_hash AS PasswordHash
            FROM users WHERE username = @username
            """, new { username }, cancellationToken: ct));

    /// <summary>The account's password hash, its row held until the transaction ends; null for an unknown account.</summary>
    public static Task<string?> PasswordHashForUpdateAsync(MySqlConnection connection, MySqlTransaction transaction, long id, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT password_hash FROM users WHERE id = @id FOR UPDATE", new { id }, transaction, cancellationToken: ct));

    /// <summary>The account's role, whether it is active and its token version; null for an unknown account.</summary>
    public static Task<AccountStanding?> StandingAsync(MySqlConnection connection, MySqlTransaction? transaction, long id, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<AccountStanding>(new CommandDefinition(
            "SELECT role AS Role, is_active AS IsActive, token_version AS TokenVersion FROM users WHERE id = @id", new { id }, transaction, cancellationToken: ct));

    /// <summary>The new account's id. A taken username or e-mail throws the server's duplicate-key error, which names
    /// the index (ux_users_username, ux_users_email): the unique indexes decide, so two registrations of one name
    /// at the same moment cannot both win.</summary>
    public async Task<long> CreateAsync(MySqlConnection connection, MySqlTransaction transaction, NewAccount account, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO users (username, email, password_hash, role, is_active, awaiting_approval, token_version, created_at, updated_at)
            VALUES (@Username, @Email, @PasswordHash, @Role, @IsActive, @AwaitingApproval, 0, @now, @now);
            SELECT LAST_INSERT_ID();
            """, new
        {
            account.Username, account.Email, account.PasswordHash, account.Role, account.IsActive, account.AwaitingApproval, now = time.GetUtcNow().UtcDateTime,
        }, transaction, cancellationToken: ct));

    public async Task<bool> AnyAdminAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM users WHERE role = 'admin'", cancellationToken: ct)) > 0;
    }

    /// <summary>The first administrator; true when this call created it (INSERT IGNORE: an instance starting at the
    /// same moment may have).</summary>
    public async Task<bool> CreateFirstAdminAsync(NewAccount admin, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition("""
            INSERT IGNORE INTO users (username, email, password_hash, role, is_active, token_version, created_at, updated_at)
            VALUES (@Username, @Email, @PasswordHash, @Role, 1, 0, @now, @now)
            """, new { admin.Username, admin.Email, admin.PasswordHash, admin.Role, now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct)) > 0;
    }

    /// <summary>A page of accounts by id; <paramref name="username"/> and <paramref name="email"/> match a part,
    /// whatever the case.</summary>
    public async Task<Paged<UserAccount>> ListAsync(string? username, string? email, string? role, PageRequest paging, CancellationToken ct)
    {
        var where = new StringBuilder("WHERE 1 = 1");
        var args = new DynamicParameters();
        if (!string.IsNullOrEmpty(username))
        {
            where.Append(" AND username LIKE @username");
            args.Add("username", Like.Contains(username));
        }

        if (!string.IsNullOrEmpty(email))
        {
            where.Append(" AND email LIKE @email");
            args.Add("email", Like.Contains(email));
        }

        if (!string.IsNullOrEmpty(role))
        {
            where.Append(" AND role = @role");
            args.Add("role", role);
        }

        args.Add("limit", paging.PageSize);
        args.Add("offset", paging.Offset);
        await using var connection = await database.OpenAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM users {where}", args, cancellationToken: ct));
        var items = (await connection.QueryAsync<UserAccount>(new CommandDefinition(
            $"SELECT {Columns} FROM users {where} ORDER BY id LIMIT @limit OFFSET @offset", args, cancellationToken: ct))).AsList();
        return Paged<UserAccount>.Of(items, total, paging);
    }

    /// <summary>Applies an admin's changes; activating an account ends its wait for approval. An e-mail address another
    /// account has throws the server's duplicate-key error.</summary>
    public async Task UpdateAsync(MySqlConnection connection, MySqlTransaction transaction, long id, AccountChanges changes, CancellationToken ct)
    {
        var set = new StringBuilder("updated_at = @now");
        if (changes.Email is not null) set.Append(", email = @email");
        if (changes.Role is not null) set.Append(", role = @role");
        if (changes.IsActive is not null) set.Append(", is_active = @isActive");
        if (changes.IsActive == true) set.Append(", awaiting_approval = 0");
        await connection.ExecuteAsync(new CommandDefinition($"UPDATE users SET {set} WHERE id = @id", new
        {
            now = time.GetUtcNow().UtcDateTime,
            email = changes.Email?.Trim(),
            role = changes.Role,
            isActive = changes.IsActive,
            id,
        }, transaction, cancellationToken: ct));
    }

    /// <summary>False for an unknown account.</summary>
    public async Task<bool> SetPasswordAsync(MySqlConnection connection, MySqlTransaction transaction, long id, string passwordHash, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET password_hash = @passwordHash, updated_at = @now WHERE id = @id",
            new { passwordHash, now = time.GetUtcNow().UtcDateTime, id }, transaction, cancellationToken: ct)) > 0;

    /// <summary>The account's sessions and refresh tokens go with it (ON DELETE CASCADE).</summary>
    public static Task DeleteAsync(MySqlConnection connection, MySqlTransaction transaction, long id, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("DELETE FROM users WHERE id = @id", new { id }, transaction, cancellationToken: ct));

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
