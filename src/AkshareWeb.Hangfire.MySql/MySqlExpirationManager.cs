using Dapper;
using Hangfire.Logging;
using Hangfire.Server;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Deletes rows whose ExpireAt has passed, in batches so no statement holds locks for long. Every server
/// runs this; a non-blocking GET_LOCK per table lets one of them do a table per round while the others
/// move on, and jobs are additionally claimed with SKIP LOCKED so even overlapping runs never collide.
/// </summary>
internal sealed class MySqlExpirationManager(MySqlStorage storage) : IBackgroundProcess
{
    private static readonly ILog Log = LogProvider.GetLogger(typeof(MySqlExpirationManager));

    public void Execute(BackgroundProcessContext context)
    {
        try
        {
            var removed = RunOnce(context.StoppingToken);
            if (removed > 0)
            {
                Log.Debug($"Removed {removed} expired records.");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.WarnException("Expiration run failed; will retry at the next interval.", ex);
        }

        context.Wait(storage.Options.JobExpirationCheckInterval);
    }

    /// <summary>One pass over every table; returns the number of rows deleted by this caller.</summary>
    internal int RunOnce(CancellationToken cancellationToken = default)
    {
        var t = storage.Tables;
        var total = 0;
        total += ForTable("job", DeleteJobBatch, cancellationToken);
        foreach (var table in new[] { t.List, t.Set, t.Hash, t.Counter, t.AggregatedCounter })
        {
            total += ForTable(table, () => DeleteBatch(table), cancellationToken);
        }

        return total;
    }

    private int ForTable(string table, Func<int> deleteBatch, CancellationToken cancellationToken)
    {
        MySqlDistributedLock tableLock;
        try
        {
            tableLock = MySqlDistributedLock.Acquire(storage, $"expiration:{table}", TimeSpan.Zero);
        }
        catch (DistributedLockTimeoutException)
        {
            return 0; // another server is cleaning this table right now
        }

        using (tableLock)
        {
            var total = 0;
            int removed;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                removed = deleteBatch();
                total += removed;
            }
            while (removed >= storage.Options.ExpirationBatchSize);
            return total;
        }
    }

    private int DeleteBatch(string table)
        => storage.UseTransaction((connection, transaction) => connection.Execute(
            $"DELETE FROM {table} WHERE `ExpireAt` < UTC_TIMESTAMP(6) ORDER BY `ExpireAt` LIMIT @batch",
            new { batch = storage.Options.ExpirationBatchSize },
            transaction));

    private int DeleteJobBatch()
    {
        var t = storage.Tables;
        return storage.UseTransaction((connection, transaction) =>
        {
            var ids = connection.Query<long>(
                $"SELECT `Id` FROM {t.Job} WHERE `ExpireAt` < UTC_TIMESTAMP(6) ORDER BY `ExpireAt` LIMIT @batch FOR UPDATE SKIP LOCKED",
                new { batch = storage.Options.ExpirationBatchSize },
                transaction).AsList();
            if (ids.Count == 0)
            {
                return 0;
            }

            // Children first, then the jobs: there are no foreign keys (they would add shared locks on
            // the job row to every state insert), so the cascade is spelled out here.
            connection.Execute($"DELETE FROM {t.JobParameter} WHERE `JobId` IN @ids", new { ids }, transaction);
            connection.Execute($"DELETE FROM {t.State} WHERE `JobId` IN @ids", new { ids }, transaction);
            connection.Execute($"DELETE FROM {t.JobQueue} WHERE `JobId` IN @ids", new { ids }, transaction);
            return connection.Execute($"DELETE FROM {t.Job} WHERE `Id` IN @ids", new { ids }, transaction);
        });
    }

    public override string ToString() => "MySQL expiration manager";
}
