using Dapper;
using Hangfire.States;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlExpirationManagerTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Deletes_more_rows_than_a_batch_with_two_managers_at_once_and_keeps_the_rest()
    {
        var storage = db.CreateStorage(o => o.ExpirationBatchSize = 100);
        var p = storage.Options.TablesPrefix;
        using (var raw = db.Open())
        {
            var past = DateTime.UtcNow.AddMinutes(-5);
            var future = DateTime.UtcNow.AddHours(1);
            using var tx = raw.BeginTransaction();
            raw.Execute($"INSERT INTO `{p}set` (`Key`, `Value`, `Score`, `ExpireAt`) VALUES ('s', @v, 0, @e)",
                Enumerable.Range(0, 450).Select(i => new { v = $"old{i}", e = past }).Append(new { v = "keep", e = future }), tx);
            raw.Execute($"INSERT INTO `{p}hash` (`Key`, `Field`, `Value`, `ExpireAt`) VALUES ('h', @f, 'x', @e)",
                Enumerable.Range(0, 250).Select(i => new { f = $"f{i}", e = past }), tx);
            raw.Execute($"INSERT INTO `{p}list` (`Key`, `Value`, `ExpireAt`) VALUES ('l', 'x', @e)",
                Enumerable.Range(0, 250).Select(_ => new { e = past }), tx);
            raw.Execute($"INSERT INTO `{p}aggregated_counter` (`Key`, `Value`, `ExpireAt`) VALUES (@k, 1, @e)",
                Enumerable.Range(0, 150).Select(i => new { k = $"c{i}", e = past }), tx);
            tx.Commit();
        }

        using var connection = storage.GetConnection();
        var expiredJobs = Enumerable.Range(0, 230).Select(_ => CreateJobWithHistory(connection, expired: true)).ToList();
        var liveJob = CreateJobWithHistory(connection, expired: false);
        using (var raw = db.Open())
        {
            raw.Execute($"UPDATE `{p}job` SET `ExpireAt` = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE WHERE `Id` IN @ids",
                new { ids = expiredJobs.Select(long.Parse).ToList() });
        }

        var first = new MySqlExpirationManager(storage);
        var second = new MySqlExpirationManager(storage);
        var removed = new int[2];
        await Task.WhenAll(Task.Run(() => removed[0] = first.RunOnce()), Task.Run(() => removed[1] = second.RunOnce()));
        // Whatever a concurrent run skipped, a later run finishes; nothing is deleted twice.
        var third = new MySqlExpirationManager(storage).RunOnce();
        Assert.Equal(450 + 250 + 250 + 150 + 230, removed[0] + removed[1] + third);

        using var check = db.Open();
        Assert.Equal(1, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{p}set`"));
        Assert.Equal(0, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{p}hash`"));
        Assert.Equal(0, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{p}list`"));
        Assert.Equal(0, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{p}aggregated_counter`"));
        Assert.Equal(1, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{p}job`"));
        Assert.Equal(1, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{p}state`"));
        Assert.Equal(1, check.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{p}job_parameter`"));
        Assert.NotNull(connection.GetJobData(liveJob));
    }

    private static string CreateJobWithHistory(IStorageConnection connection, bool expired)
    {
        var id = connection.CreateExpiredJob(TestJobs.NoopJob(), new Dictionary<string, string?> { ["p"] = "v" }, DateTime.UtcNow, TimeSpan.FromHours(1));
        using var tx = connection.CreateWriteTransaction();
        tx.SetJobState(id, new SucceededState(null, 1, 1));
        if (!expired)
        {
            tx.PersistJob(id);
        }

        tx.Commit();
        return id;
    }
}
