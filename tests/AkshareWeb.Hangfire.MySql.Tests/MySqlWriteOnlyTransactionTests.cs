using Dapper;
using Hangfire.States;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlWriteOnlyTransactionTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public void Writes_made_under_a_lock_whose_session_died_are_not_committed_nor_repeated_while_waiting_for_the_database()
    {
        var storage = db.CreateStorage(o => o.FailoverPatience = TimeSpan.FromSeconds(60));
        using var connection = (MySqlStorageConnection)storage.GetConnection();
        using var other = storage.GetConnection();
        using (connection.AcquireDistributedLock("guarded", TimeSpan.Zero))
        {
            using (var kept = connection.CreateWriteTransaction())
            {
                kept.SetRangeInHash("guarded-hash", [new("before", "1")]);
                kept.Commit();
            }

            // The lock's session dies as it does with its database node; another process takes the lock.
            using (var admin = db.Open())
            {
                admin.Execute($"KILL {connection.Locks.Find("guarded")!.ServerThreadId}");
            }

            using (other.AcquireDistributedLock("guarded", TimeSpan.FromSeconds(10)))
            {
                using var lost = connection.CreateWriteTransaction();
                lost.SetRangeInHash("guarded-hash", [new("after", "2")]);
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var error = Assert.Throws<DistributedLockLostException>(lost.Commit);
                Assert.Equal("guarded", error.Resource);
                // A lost lock does not come back: waiting out the failover patience for it would only hold the worker.
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the commit was repeated for {watch.Elapsed.TotalSeconds:0} s");
            }
        }

        Assert.Equal(new Dictionary<string, string> { ["before"] = "1" }, other.GetAllEntriesFromHash("guarded-hash"));
    }

    [Fact]
    public void Nothing_is_written_before_commit_or_when_a_statement_fails()
    {
        var storage = db.CreateStorage();
        using var connection = (JobStorageConnection)storage.GetConnection();
        using (var tx = connection.CreateWriteTransaction())
        {
            tx.AddToSet("s", "1");
            tx.IncrementCounter("c");
            Assert.Equal(0, connection.GetSetCount("s"));
            // Disposed without Commit.
        }

        Assert.Equal(0, connection.GetSetCount("s"));

        using (var tx = connection.CreateWriteTransaction())
        {
            tx.AddToSet("s", "1");
            tx.InsertToList("l", "x");
            tx.IncrementCounter("c");
            tx.AddToSet("s", new string('v', 300)); // longer than the column: the server rejects it
            Assert.ThrowsAny<Exception>(tx.Commit);
        }

        Assert.Equal(0, connection.GetSetCount("s"));
        Assert.Equal(0, connection.GetListCount("l"));
        Assert.Equal(0, connection.GetCounter("c"));
    }

    [Fact]
    public void Commit_applies_everything_atomically()
    {
        var storage = db.CreateStorage();
        using var connection = (JobStorageConnection)storage.GetConnection();
        var id = connection.CreateExpiredJob(TestJobs.NoopJob(), new Dictionary<string, string?>(), DateTime.UtcNow, TimeSpan.FromHours(1));
        using (var tx = connection.CreateWriteTransaction())
        {
            tx.SetJobState(id, new EnqueuedState("default"));
            tx.AddToQueue("default", id);
            tx.PersistJob(id);
            tx.IncrementCounter("c");
            tx.IncrementCounter("c", TimeSpan.FromDays(1));
            tx.DecrementCounter("c");
            tx.IncrementCounter("c");
            tx.Commit();
        }

        Assert.Equal(EnqueuedState.StateName, connection.GetJobData(id)!.State);
        Assert.Null(storage.GetMonitoringApi().JobDetails(id)!.ExpireAt);
        Assert.Equal(2, connection.GetCounter("c"));
        Assert.Equal(1, storage.GetMonitoringApi().EnqueuedCount("default"));
    }

    [Fact]
    public void Removing_from_queue_in_the_transaction_acknowledges_the_job_only_on_commit()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        var id = Enqueue(connection, "default");
        var fetched = connection.FetchNextJob(["default"], CancellationToken.None);

        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.RemoveFromQueue(fetched);
            tx.SetJobState(id, new SucceededState(null, 1, 1));
            // not committed
        }

        Assert.Equal(1, QueueRows(storage));

        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.RemoveFromQueue(fetched);
            tx.SetJobState(id, new SucceededState(null, 1, 1));
            tx.Commit();
        }

        fetched.Dispose(); // must not requeue what the transaction removed
        Assert.Equal(0, QueueRows(storage));
        Assert.Equal(SucceededState.StateName, connection.GetJobData(id)!.State);
    }

    [Fact]
    public void Distributed_lock_taken_by_a_transaction_is_held_until_dispose()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        using var other = storage.GetConnection();
        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.AcquireDistributedLock("job:1:state-lock", TimeSpan.FromSeconds(1));
            using (connection.AcquireDistributedLock("job:1:state-lock", TimeSpan.Zero))
            {
                // re-entrant on the same connection
            }

            Assert.Throws<DistributedLockTimeoutException>(() => other.AcquireDistributedLock("job:1:state-lock", TimeSpan.Zero));
            tx.Commit();
        }

        using (other.AcquireDistributedLock("job:1:state-lock", TimeSpan.FromSeconds(1)))
        {
        }
    }

    [Fact]
    public void Concurrent_transactions_on_shared_keys_do_not_surface_deadlocks()
    {
        var storage = db.CreateStorage();
        var errors = new List<Exception>();
        var threads = Enumerable.Range(0, 8).Select(n => new Thread(() =>
        {
            try
            {
                for (var i = 0; i < 40; i++)
                {
                    using var connection = storage.GetConnection();
                    using var tx = connection.CreateWriteTransaction();
                    // Opposite key orders from alternate threads would deadlock without ordering and retry.
                    var keys = n % 2 == 0 ? new[] { "k1", "k2", "k3" } : ["k3", "k2", "k1"];
                    foreach (var key in keys)
                    {
                        tx.AddToSet(key, $"v{i % 5}", i);
                        tx.SetRangeInHash(key, [new("f", $"{n}:{i}")]);
                        tx.IncrementCounter(key);
                    }

                    tx.Commit();
                }
            }
            catch (Exception ex)
            {
                lock (errors)
                {
                    errors.Add(ex);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(errors);
        using var check = storage.GetConnection();
        Assert.Equal(8 * 40, ((JobStorageConnection)check).GetCounter("k2"));
    }

    internal static string Enqueue(IStorageConnection connection, string queue)
    {
        var id = connection.CreateExpiredJob(TestJobs.NoopJob(queue: queue), new Dictionary<string, string?>(), DateTime.UtcNow, TimeSpan.FromHours(1));
        using var tx = connection.CreateWriteTransaction();
        tx.SetJobState(id, new EnqueuedState(queue));
        tx.AddToQueue(queue, id);
        tx.PersistJob(id);
        tx.Commit();
        return id;
    }

    private int QueueRows(MySqlStorage storage)
    {
        using var raw = db.Open();
        return raw.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{storage.Options.TablesPrefix}job_queue`");
    }
}
