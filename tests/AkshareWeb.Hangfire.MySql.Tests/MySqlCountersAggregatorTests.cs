using Dapper;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlCountersAggregatorTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Two_concurrent_aggregators_keep_exact_totals()
    {
        var storage = db.CreateStorage(o => o.CountersAggregateBatchSize = 100);
        const int perKey = 1500;
        using (var raw = db.Open())
        {
            // Bulk-insert increments (and some decrements) for three keys, one with an expiry.
            var rows = Enumerable.Range(0, perKey).SelectMany(i => new[]
            {
                new { key = "stats:succeeded", value = 1, expire = (DateTime?)null },
                new { key = "stats:failed", value = i % 3 == 0 ? -1 : 1, expire = (DateTime?)null },
                new { key = "stats:succeeded:2030-01-01", value = 1, expire = (DateTime?)new DateTime(2030, 2, 1, 0, 0, 0, DateTimeKind.Utc) },
            });
            using var tx = raw.BeginTransaction();
            raw.Execute($"INSERT INTO `{storage.Options.TablesPrefix}counter` (`Key`, `Value`, `ExpireAt`) VALUES (@key, @value, @expire)", rows, tx);
            tx.Commit();
        }

        using var connection = (JobStorageConnection)storage.GetConnection();
        var expectedFailed = connection.GetCounter("stats:failed");
        var first = new MySqlCountersAggregator(storage);
        var second = new MySqlCountersAggregator(storage);
        var folded = new int[2];
        var t1 = Task.Run(() => folded[0] = first.RunOnce());
        var t2 = Task.Run(() => folded[1] = second.RunOnce());
        await Task.WhenAll(t1, t2);

        Assert.Equal(3 * perKey, folded[0] + folded[1]);
        Assert.Equal(perKey, connection.GetCounter("stats:succeeded"));
        Assert.Equal(expectedFailed, connection.GetCounter("stats:failed"));
        Assert.Equal(perKey, connection.GetCounter("stats:succeeded:2030-01-01"));
        using var check = db.Open();
        Assert.Equal(0, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{storage.Options.TablesPrefix}counter`"));
        Assert.Equal(new DateTime(2030, 2, 1), check.ExecuteScalar<DateTime>(
            $"SELECT `ExpireAt` FROM `{storage.Options.TablesPrefix}aggregated_counter` WHERE `Key` = 'stats:succeeded:2030-01-01'"));
    }

    [Fact]
    public async Task Aggregating_while_increments_keep_arriving_loses_nothing()
    {
        var storage = db.CreateStorage(o => o.CountersAggregateBatchSize = 50);
        var aggregator = new MySqlCountersAggregator(storage);
        using var stop = new CancellationTokenSource();
        var background = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                aggregator.RunOnce();
            }
        });

        Parallel.For(0, 4, _ =>
        {
            using var connection = storage.GetConnection();
            for (var i = 0; i < 100; i++)
            {
                using var tx = connection.CreateWriteTransaction();
                tx.IncrementCounter("live");
                tx.Commit();
            }
        });
        stop.Cancel();
        await background;
        aggregator.RunOnce();

        using var check = (JobStorageConnection)storage.GetConnection();
        Assert.Equal(400, check.GetCounter("live"));
    }
}
