using System.Diagnostics;
using Dapper;
using Hangfire.Storage;
using MySqlConnector;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// One GET_LOCK held on a connection of its own. A dedicated session means the lock lives exactly as long
/// as the holder (not as long as some wait timeout) and the server frees it by itself if the holder's
/// process or connection dies.
/// </summary>
internal sealed class MySqlDistributedLock : IDisposable
{
    private static readonly TimeSpan ShortPoll = TimeSpan.FromMilliseconds(25);

    private readonly MySqlConnection _connection;
    private bool _disposed;

    private MySqlDistributedLock(MySqlConnection connection, string resource, string lockName)
    {
        _connection = connection;
        Resource = resource;
        LockName = lockName;
    }

    public string Resource { get; }

    public string LockName { get; }

    /// <summary>Session id of the holding connection (tests kill it to simulate a dead holder).</summary>
    public int ServerThreadId => _connection.ServerThread;

    public static MySqlDistributedLock Acquire(MySqlStorage storage, string resource, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "Must be non-negative.");
        }

        var lockName = storage.Locks.For(resource);
        var connection = storage.CreateAndOpenConnection();
        try
        {
            if (TryGetLock(storage, connection, lockName, timeout))
            {
                return new MySqlDistributedLock(connection, resource, lockName);
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        connection.Dispose();
        throw new DistributedLockTimeoutException(resource);
    }

    private static bool TryGetLock(MySqlStorage storage, MySqlConnection connection, string lockName, TimeSpan timeout)
    {
        var clock = storage.Clock;
        var started = clock.GetTimestamp();
        while (true)
        {
            var remaining = timeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(30) : timeout - clock.GetElapsedTime(started);
            // GET_LOCK's timeout is whole seconds on MySQL, so the server waits for the whole seconds and
            // the last fraction is covered by short polls.
            var wholeSeconds = remaining > TimeSpan.Zero ? (int)Math.Floor(remaining.TotalSeconds) : 0;
            var result = connection.ExecuteScalar<long?>("SELECT GET_LOCK(@name, @seconds)", new { name = lockName, seconds = wholeSeconds });
            if (result is null)
            {
                throw new InvalidOperationException($"GET_LOCK('{lockName}') failed on the server.");
            }

            if (result == 1)
            {
                return true;
            }

            if (timeout != Timeout.InfiniteTimeSpan && clock.GetElapsedTime(started) >= timeout)
            {
                return false;
            }

            if (wholeSeconds == 0)
            {
                var left = timeout == Timeout.InfiniteTimeSpan ? ShortPoll : timeout - clock.GetElapsedTime(started);
                Thread.Sleep(left < ShortPoll ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : ShortPoll);
            }
        }
    }

    /// <summary>Throws <see cref="DistributedLockLostException"/> unless this session still holds the lock.</summary>
    public void EnsureHeld()
    {
        bool held;
        try
        {
            held = _connection.ExecuteScalar<long?>("SELECT IS_USED_LOCK(@name) = CONNECTION_ID()", new { name = LockName }) == 1;
        }
        catch (Exception ex) when (MySqlStorage.IsUnavailable(ex) || ex is MySqlException)
        {
            throw new DistributedLockLostException(Resource, ex);
        }

        if (!held)
        {
            throw new DistributedLockLostException(Resource, null);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (_connection.State == System.Data.ConnectionState.Open)
            {
                _connection.ExecuteScalar<long?>("SELECT RELEASE_LOCK(@name)", new { name = LockName });
            }
        }
        catch (Exception ex) when (ex is MySqlException || MySqlStorage.IsUnavailable(ex))
        {
            // The session is gone (killed, network, its node lost), and with it the lock: nothing left to release.
            Debug.WriteLine($"RELEASE_LOCK failed for {Resource}: {ex.Message}");
        }
        finally
        {
            _connection.Dispose();
        }
    }
}

/// <summary>A distributed lock whose session ended while it was held (its database node lost): the work done under
/// it is abandoned, and Hangfire tries it again under a new lock.</summary>
public sealed class DistributedLockLostException(string resource, Exception? inner)
    : Exception($"The distributed lock '{resource}' was lost with its database connection; the work done under it was not committed.", inner)
{
    public string Resource { get; } = resource;
}
