using System.Diagnostics;
using Dapper;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlDistributedLockTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public void Lock_is_exclusive_across_connections_and_times_out_with_the_resource_name()
    {
        var storage = db.CreateStorage();
        using var a = storage.GetConnection();
        using var b = storage.GetConnection();
        using (a.AcquireDistributedLock("resource-1", TimeSpan.FromSeconds(1)))
        {
            var watch = Stopwatch.StartNew();
            var ex = Assert.Throws<DistributedLockTimeoutException>(() => b.AcquireDistributedLock("resource-1", TimeSpan.FromMilliseconds(1500)));
            Assert.EndsWith("resource-1", ex.Resource, StringComparison.Ordinal);
            Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(1400), TimeSpan.FromSeconds(5));

            using (b.AcquireDistributedLock("resource-2", TimeSpan.Zero))
            {
                // a different resource is independent
            }
        }

        using (b.AcquireDistributedLock("resource-1", TimeSpan.Zero))
        {
        }
    }

    [Fact]
    public void Lock_is_reentrant_on_the_same_connection_and_released_after_the_last_dispose()
    {
        var storage = db.CreateStorage();
        using var a = storage.GetConnection();
        using var b = storage.GetConnection();
        var outer = a.AcquireDistributedLock("re", TimeSpan.Zero);
        var inner = a.AcquireDistributedLock("re", TimeSpan.Zero);
        inner.Dispose();
        Assert.Throws<DistributedLockTimeoutException>(() => b.AcquireDistributedLock("re", TimeSpan.Zero));
        outer.Dispose();
        b.AcquireDistributedLock("re", TimeSpan.Zero).Dispose();
    }

    [Fact]
    public async Task Lock_waiter_gets_the_lock_as_soon_as_the_holder_releases_it()
    {
        var storage = db.CreateStorage();
        using var a = storage.GetConnection();
        using var b = storage.GetConnection();
        var held = a.AcquireDistributedLock("handover", TimeSpan.Zero);
        var releaser = Task.Run(async () =>
        {
            await Task.Delay(700);
            held.Dispose();
        });
        var watch = Stopwatch.StartNew();
        using (b.AcquireDistributedLock("handover", TimeSpan.FromSeconds(10)))
        {
            Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
        }

        await releaser;
    }

    [Fact]
    public void Lock_is_released_when_the_holding_session_is_killed()
    {
        var storage = db.CreateStorage();
        using var a = (MySqlStorageConnection)storage.GetConnection();
        using var b = storage.GetConnection();
        using var held = a.AcquireDistributedLock("killed", TimeSpan.Zero);
        Assert.Throws<DistributedLockTimeoutException>(() => b.AcquireDistributedLock("killed", TimeSpan.Zero));

        var threadId = a.Locks.Find("killed")!.ServerThreadId;
        using (var admin = db.Open())
        {
            admin.Execute($"KILL {threadId}");
        }

        using (b.AcquireDistributedLock("killed", TimeSpan.FromSeconds(10)))
        {
        }
    }

    [Fact]
    public void Long_and_case_different_names_are_distinct_locks()
    {
        var storage = db.CreateStorage();
        using var a = storage.GetConnection();
        using var b = storage.GetConnection();
        var longName = new string('x', 300);
        using (a.AcquireDistributedLock(longName + "1", TimeSpan.Zero))
        using (a.AcquireDistributedLock("Job:Lock", TimeSpan.Zero))
        {
            b.AcquireDistributedLock(longName + "2", TimeSpan.Zero).Dispose();
            b.AcquireDistributedLock("job:lock", TimeSpan.Zero).Dispose();
            Assert.Throws<DistributedLockTimeoutException>(() => b.AcquireDistributedLock(longName + "1", TimeSpan.Zero));
            Assert.Throws<DistributedLockTimeoutException>(() => b.AcquireDistributedLock("Job:Lock", TimeSpan.Zero));
        }

        Assert.True(storage.Locks.For(longName).Length <= 64);
        Assert.NotEqual(storage.Locks.For("A").ToUpperInvariant(), storage.Locks.For("a").ToUpperInvariant());
    }

    [Fact]
    public void Locks_of_different_prefixes_do_not_collide()
    {
        var one = db.CreateStorage();
        var two = db.CreateStorage();
        using var a = one.GetConnection();
        using var b = two.GetConnection();
        using (a.AcquireDistributedLock("same", TimeSpan.Zero))
        {
            b.AcquireDistributedLock("same", TimeSpan.Zero).Dispose();
        }
    }

    [Fact]
    public void Lock_gives_mutual_exclusion_under_contention()
    {
        var storage = db.CreateStorage();
        var inside = 0;
        var maxInside = 0;
        var entries = 0;
        var threads = Enumerable.Range(0, 6).Select(_ => new Thread(() =>
        {
            using var connection = storage.GetConnection();
            for (var i = 0; i < 10; i++)
            {
                using (connection.AcquireDistributedLock("contended", TimeSpan.FromSeconds(30)))
                {
                    var now = Interlocked.Increment(ref inside);
                    InterlockedMax(ref maxInside, now);
                    Interlocked.Increment(ref entries);
                    Thread.Sleep(2);
                    Interlocked.Decrement(ref inside);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(1, maxInside);
        Assert.Equal(60, entries);
    }

    internal static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
