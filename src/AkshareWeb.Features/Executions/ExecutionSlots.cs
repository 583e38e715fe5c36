using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The server-wide limit on simultaneous runs (max_concurrent_tasks): slot i is the MySQL user lock
/// "…slot:i", held by a dedicated connection for the whole run. Every instance competes for the same locks,
/// so the limit holds across instances, and a crashed holder's session ends and frees its slot by itself.
/// <para>A lock also goes when the database drops its connection (an outage, a proxy) while the run that held it
/// goes on; so a task's run is claimed only while fewer task runs are recorded as running than the limit
/// (<see cref="ExecutionStore.ClaimAsync"/>): the slot's lock decides who may try, the executions table whether
/// there is room. A run whose lock went thus keeps its place until it ends or the watchdog takes it for dead.</para>
/// </summary>
public sealed class ExecutionSlots(Database database)
{
    private int inUse;

    /// <summary>Slots held by this instance now.</summary>
    public int InUse => Volatile.Read(ref inUse);

    /// <summary>A server lock's name: lock names are server-wide, and the database name keeps two AkshareWeb
    /// databases on one server apart.</summary>
    public static string LockName(string database, string what) => ServerLockName.For(database, what);

    public async Task<Slot?> TryAcquireAsync(int maxConcurrent, CancellationToken ct)
    {
        var connection = await database.OpenAsync(ct);
        try
        {
            for (var i = 0; i < maxConcurrent; i++)
            {
                var name = LockName(connection.Database, $"slot:{i}");
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
            catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                // The database dropped the session holding the lock, and the lock with it (a reset connection
                // surfaces as a bare SocketException on the write).
                try
                {
                    await connection.DisposeAsync();
                }
                catch (Exception again) when (again is MySqlException or IOException or System.Net.Sockets.SocketException)
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
