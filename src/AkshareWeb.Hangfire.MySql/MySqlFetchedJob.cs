using Dapper;
using Hangfire.Storage;
using MySqlConnector;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// A claimed queue row. Acknowledge and requeue match the row by id and fetch token, so a worker whose
/// claim expired and was taken over by another worker (the token changed) can no longer touch the row.
/// </summary>
internal sealed class MySqlFetchedJob : IFetchedJob
{
    private readonly MySqlStorage _storage;
    private bool _removed;
    private bool _requeued;
    private bool _disposed;

    public MySqlFetchedJob(MySqlStorage storage, long queueRowId, string jobId, string queue, string fetchToken)
    {
        _storage = storage;
        QueueRowId = queueRowId;
        JobId = jobId;
        Queue = queue;
        FetchToken = fetchToken;
        storage.FetchedJobs.Add(this);
    }

    public string JobId { get; }

    public string Queue { get; }

    internal long QueueRowId { get; }

    internal string FetchToken { get; }

    public void RemoveFromQueue()
    {
        _storage.UseConnection(connection => Remove(connection, null));
        MarkRemoved();
    }

    public void Requeue()
    {
        var t = _storage.Tables;
        var affected = _storage.UseConnection(connection => connection.Execute(
            $"UPDATE {t.JobQueue} SET `FetchedAt` = NULL, `FetchToken` = NULL WHERE `Id` = @QueueRowId AND `FetchToken` = @FetchToken",
            new { QueueRowId, FetchToken }));
        _requeued = true;
        _storage.FetchedJobs.Remove(this);
        if (affected > 0)
        {
            _storage.Queue.Signal(Queue);
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
            if (!_removed && !_requeued)
            {
                Requeue();
            }
        }
        finally
        {
            _storage.FetchedJobs.Remove(this);
        }
    }

    /// <summary>Deletes the row if this claim still holds it; returns whether it did.</summary>
    internal bool Remove(MySqlConnection connection, MySqlTransaction? transaction)
        => connection.Execute(
            $"DELETE FROM {_storage.Tables.JobQueue} WHERE `Id` = @QueueRowId AND `FetchToken` = @FetchToken",
            new { QueueRowId, FetchToken },
            transaction) > 0;

    internal void MarkRemoved()
    {
        _removed = true;
        _storage.FetchedJobs.Remove(this);
    }
}
