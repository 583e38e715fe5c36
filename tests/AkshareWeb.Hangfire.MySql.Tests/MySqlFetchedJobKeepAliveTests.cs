using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlFetchedJobKeepAliveTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public void Without_keep_alive_a_claim_expires_and_the_stale_holder_is_fenced()
    {
        var storage = db.CreateStorage(o => o.InvisibilityTimeout = TimeSpan.FromSeconds(2));
        using var connection = storage.GetConnection();
        var id = MySqlWriteOnlyTransactionTests.Enqueue(connection, "default");
        var stale = connection.FetchNextJob(["default"], CancellationToken.None);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var fresh = connection.FetchNextJob(["default"], cts.Token);
        Assert.Equal(id, fresh.JobId);

        // The first holder wakes up late: neither its acknowledgement nor its requeue may touch the row.
        stale.RemoveFromQueue();
        stale.Requeue();
        stale.Dispose();
        Assert.Equal(1, storage.GetMonitoringApi().FetchedCount("default"));
        Assert.Equal(0, storage.GetMonitoringApi().EnqueuedCount("default"));

        fresh.RemoveFromQueue();
        fresh.Dispose();
        Assert.Equal(0, storage.GetMonitoringApi().FetchedCount("default"));
    }

    [Fact]
    public async Task With_keep_alive_a_running_job_stays_invisible_past_the_timeout()
    {
        var storage = db.CreateStorage(o => o.InvisibilityTimeout = TimeSpan.FromSeconds(2));
        var keepAlive = new MySqlFetchedJobKeepAlive(storage);
        using var connection = storage.GetConnection();
        MySqlWriteOnlyTransactionTests.Enqueue(connection, "default");
        using var held = connection.FetchNextJob(["default"], CancellationToken.None);

        var refreshes = 0;
        using var stop = new CancellationTokenSource();
        var refresher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                refreshes += keepAlive.RefreshAll();
                Thread.Sleep(400);
            }
        });

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.ThrowsAny<OperationCanceledException>(() => connection.FetchNextJob(["default"], cts.Token));
        stop.Cancel();
        await refresher;
        Assert.True(refreshes >= 5);
        held.RemoveFromQueue();
        Assert.Equal(0, keepAlive.RefreshAll());
    }
}
