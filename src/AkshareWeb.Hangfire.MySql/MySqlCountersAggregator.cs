using Dapper;
using Hangfire.Logging;
using Hangfire.Server;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Folds counter increments into one row per key. A batch is claimed with FOR UPDATE SKIP LOCKED, added
/// to aggregated_counter and deleted in the same transaction, so concurrent aggregators on several
/// servers take disjoint rows and every increment is counted exactly once.
/// </summary>
internal sealed class MySqlCountersAggregator(MySqlStorage storage) : IBackgroundProcess
{
    private static readonly ILog Log = LogProvider.GetLogger(typeof(MySqlCountersAggregator));

    public void Execute(BackgroundProcessContext context)
    {
        try
        {
            RunOnce(context.StoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.WarnException("Counter aggregation failed; will retry at the next interval.", ex);
        }

        context.Wait(storage.Options.CountersAggregateInterval);
    }

    /// <summary>Aggregates until no counter rows are left; returns how many rows this caller folded.</summary>
    internal int RunOnce(CancellationToken cancellationToken = default)
    {
        var total = 0;
        int folded;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            folded = AggregateBatch();
            total += folded;
        }
        while (folded >= storage.Options.CountersAggregateBatchSize);
        return total;
    }

    private int AggregateBatch()
    {
        var t = storage.Tables;
        return storage.UseTransaction((connection, transaction) =>
        {
            var rows = connection.Query<CounterRow>(
                $"SELECT `Id`, `Key`, `Value`, `ExpireAt` FROM {t.Counter} ORDER BY `Id` LIMIT @batch FOR UPDATE SKIP LOCKED",
                new { batch = storage.Options.CountersAggregateBatchSize },
                transaction).AsList();
            if (rows.Count == 0)
            {
                return 0;
            }

            // Keys in a fixed order, so two aggregators upserting overlapping keys lock them alike.
            var sums = rows
                .GroupBy(r => r.Key, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new { key = g.Key, value = g.Sum(r => (long)r.Value), expireAt = g.Max(r => r.ExpireAt) })
                .ToList();
            connection.Execute(
                $"""
                INSERT INTO {t.AggregatedCounter} (`Key`, `Value`, `ExpireAt`) VALUES (@key, @value, @expireAt)
                ON DUPLICATE KEY UPDATE
                  `Value` = `Value` + @value,
                  `ExpireAt` = CASE WHEN `ExpireAt` > @expireAt THEN `ExpireAt` ELSE @expireAt END
                """,
                sums,
                transaction);
            var ids = rows.Select(r => r.Id).ToList();
            connection.Execute($"DELETE FROM {t.Counter} WHERE `Id` IN @ids", new { ids }, transaction);
            return rows.Count;
        });
    }

    public override string ToString() => "MySQL counters aggregator";

    private sealed record CounterRow(long Id, string Key, int Value, DateTime? ExpireAt);
}
