using System.Security.Cryptography;
using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The server-wide limit on simultaneous runs (max_concurrent_tasks): slot i is the MySQL user lock
/// "…slot:i", held by a dedicated connection for the whole run. Every instance competes for the same locks,
/// so the limit holds across instances, and a crashed holder's session ends and frees its slot by itself.
/// </summary>
public sealed class ExecutionSlots(Database database)
{
    private int inUse;

    /// <summary>Slots held by this instance now.</summary>
    public int InUse => Volatile.Read(ref inUse);

    public async Task<Slot?> TryAcquireAsync(int maxConcurrent, CancellationToken ct)
    {
        var connection = await database.OpenAsync(ct);
        try
        {
            // Lock names are server-wide: the database name keeps two AkshareWeb databases on one server apart.
            var prefix = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(connection.Database)))[..16];
            for (var i = 0; i < maxConcurrent; i++)
            {
                var name = $"akshareweb:{prefix}:slot:{i}";
                if (await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@name, 0)", new { name }, cancellationToken: ct)) == 1)
                {
                    Interlocked.Increment(ref inUse);
                    return new Slot(this, connection, name);
                }
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    public sealed class Slot(ExecutionSlots owner, MySqlConnection connection, string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name }));
                await connection.DisposeAsync();
            }
            catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException)
            {
                // The database dropped the session holding the lock, and the lock with it.
                try
                {
                    await connection.DisposeAsync();
                }
                catch (Exception again) when (again is MySqlException or IOException)
                {
                    // Nothing left to close.
                }
            }
            finally
            {
                Interlocked.Decrement(ref owner.inUse);
            }
        }
    }
}
