using System.Collections.Concurrent;
using System.Diagnostics;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlJobQueueTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public void Fetch_acknowledge_requeue_and_dispose()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        var id = MySqlWriteOnlyTransactionTests.Enqueue(connection, "default");
        var monitor = storage.GetMonitoringApi();

        var fetched = connection.FetchNextJob(["default"], CancellationToken.None);
        Assert.Equal(id, fetched.JobId);
        Assert.Equal(0, monitor.EnqueuedCount("default"));
        Assert.Equal(1, monitor.FetchedCount("default"));

        fetched.Requeue();
        fetched.Dispose();
        Assert.Equal(1, monitor.EnqueuedCount("default"));

        fetched = connection.FetchNextJob(["default"], CancellationToken.None);
        fetched.Dispose(); // neither removed nor requeued: goes back
        Assert.Equal(1, monitor.EnqueuedCount("default"));

        fetched = connection.FetchNextJob(["default"], CancellationToken.None);
        fetched.RemoveFromQueue();
        fetched.Dispose();
        Assert.Equal(0, monitor.EnqueuedCount("default"));
        Assert.Equal(0, monitor.FetchedCount("default"));
    }

    [Fact]
    public void Queues_are_routed_in_priority_order_and_foreign_queues_are_ignored()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        var low = MySqlWriteOnlyTransactionTests.Enqueue(connection, "default");
        var high = MySqlWriteOnlyTransactionTests.Enqueue(connection, "critical");
        MySqlWriteOnlyTransactionTests.Enqueue(connection, "elsewhere");

        using var first = connection.FetchNextJob(["critical", "default"], CancellationToken.None);
        using var second = connection.FetchNextJob(["critical", "default"], CancellationToken.None);
        Assert.Equal(high, first.JobId);
        Assert.Equal(low, second.JobId);

        // An empty queue is waited on until the token ends, not given up early; how soon after the token the wait
        // ends is a figure for bench/, not a test's bound (a loaded machine took 1.5 s and more).
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var watch = Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => connection.FetchNextJob(["critical", "default"], cts.Token));
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(400), $"gave up after {watch.Elapsed}");
        first.RemoveFromQueue();
        second.RemoveFromQueue();
    }

    [Fact]
    public async Task Cancellation_stops_an_idle_fetch_without_waiting_for_the_next_poll()
    {
        // The poll interval is a day: a fetch that ends at all after its cancellation was woken by it, not by a poll.
        // The wait below only keeps a broken wake from hanging the suite; the wake's speed is measured in bench/.
        var storage = db.CreateStorage(o => o.QueuePollInterval = TimeSpan.FromDays(1));
        using var connection = storage.GetConnection();
        using var cts = new CancellationTokenSource();
        var fetch = Task.Run(() => connection.FetchNextJob(["default"], cts.Token));
        Thread.Sleep(300);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch.WaitAsync(TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public async Task Local_enqueue_wakes_an_idle_fetcher_before_the_poll_interval()
    {
        // The poll interval is a day: a fetcher that gets the job at all was woken by the enqueue, not by a poll. The
        // token only keeps a broken wake from hanging the suite; the wake's speed is measured in bench/.
        var storage = db.CreateStorage(o => o.QueuePollInterval = TimeSpan.FromDays(1));
        using var fetcherConnection = storage.GetConnection();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var fetch = Task.Run(() => fetcherConnection.FetchNextJob(["default"], cts.Token));
        Thread.Sleep(500); // let it go idle
        using var connection = storage.GetConnection();
        var id = MySqlWriteOnlyTransactionTests.Enqueue(connection, "default");
        using var fetched = await fetch;
        Assert.Equal(id, fetched.JobId);
        fetched.RemoveFromQueue();
    }

    [Fact]
    public async Task Job_enqueued_by_another_storage_instance_is_found_by_polling()
    {
        var prefix = TestDatabase.NewPrefix();
        var consumer = db.CreateStorage(o => o.QueuePollInterval = TimeSpan.FromMilliseconds(300), prefix: prefix);
        var producer = db.CreateStorage(prefix: prefix);
        using var fetcherConnection = consumer.GetConnection();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var fetch = Task.Run(() => fetcherConnection.FetchNextJob(["default"], cts.Token));
        Thread.Sleep(400);
        using var connection = producer.GetConnection();
        var id = MySqlWriteOnlyTransactionTests.Enqueue(connection, "default");
        using var fetched = await fetch;
        Assert.Equal(id, fetched.JobId);
        fetched.RemoveFromQueue();
    }

    [Fact]
    public void Sixteen_fetchers_claim_five_hundred_jobs_exactly_once()
    {
        const int jobs = 500;
        const int fetchers = 16;
        var storage = db.CreateStorage();
        using (var connection = storage.GetConnection())
        {
            for (var i = 0; i < jobs; i++)
            {
                MySqlWriteOnlyTransactionTests.Enqueue(connection, "default");
            }
        }

        var claimed = new ConcurrentDictionary<string, int>();
        var errors = new ConcurrentQueue<Exception>();
        var remaining = jobs;
        var threads = Enumerable.Range(0, fetchers).Select(_ => new Thread(() =>
        {
            try
            {
                using var connection = storage.GetConnection();
                while (Volatile.Read(ref remaining) > 0)
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    IFetchedJob fetched;
                    try
                    {
                        fetched = connection.FetchNextJob(["default"], cts.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        continue;
                    }

                    using (fetched)
                    {
                        claimed.AddOrUpdate(fetched.JobId, 1, (_, n) => n + 1);
                        fetched.RemoveFromQueue();
                        Interlocked.Decrement(ref remaining);
                    }
                }
            }
            catch (Exception ex)
            {
                errors.Enqueue(ex);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        Assert.True(threads.All(t => t.Join(TimeSpan.FromMinutes(2))), "fetchers did not finish");

        Assert.Empty(errors);
        Assert.Equal(jobs, claimed.Count);
        Assert.All(claimed.Values, n => Assert.Equal(1, n));
        Assert.Equal(0, storage.GetMonitoringApi().EnqueuedCount("default") + storage.GetMonitoringApi().FetchedCount("default"));
    }
}
