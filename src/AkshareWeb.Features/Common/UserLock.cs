using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>
/// A user's quota lock: a MySQL named lock per user, so two requests of the same user at the same moment cannot
/// both take the last place of a quota (checked on every instance). Admins have no quotas and take no lock.
/// </summary>
public sealed class UserLock(Database database)
{
    /// <summary>Takes the user's lock on a connection of its own, or answers 429 after 10 seconds of waiting.</summary>
    public async Task<Held> TakeAsync(long userId, CancellationToken ct)
    {
        var connection = await database.OpenAsync(ct);
        try
        {
            var name = LockName(connection, userId);
            var got = await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@name, 10)", new { name }, cancellationToken: ct));
            if (got != 1)
            {
                throw new ApiError(429, ErrorCodes.General, "too many requests of yours at once; try again") { RetryAfterSeconds = 1 };
            }

            return new Held(connection, name);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string LockName(MySqlConnection connection, long userId) => ServerLockName.For(connection.Database, $"quota:{userId}");

    /// <summary>The held lock and its connection, on which the quota's own count runs; disposing releases both.</summary>
    public sealed class Held(MySqlConnection connection, string name) : IAsyncDisposable
    {
        private MySqlConnection? held = connection;

        public MySqlConnection Connection => held ?? throw new ObjectDisposedException(nameof(Held));

        public async ValueTask DisposeAsync()
        {
            if (held is null) return;
            try
            {
                await held.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name }));
            }
            finally
            {
                await held.DisposeAsync();
                held = null;
            }
        }
    }
}
