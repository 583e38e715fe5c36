using Hangfire;
using Hangfire.Common;
using Hangfire.Logging;
using Hangfire.States;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

/// <summary>Real BackgroundJobServers on the storage, as the application runs them.</summary>
public sealed class EndToEndTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public void Fire_and_forget_runs_exactly_once_and_delayed_job_not_early()
    {
        var storage = db.CreateStorage();
        using var server = StartServer(storage, "s1");
        var client = new BackgroundJobClient(storage);
        var tag = Tag();
        var id = client.Enqueue(() => EndToEndJobs.Count(tag));
        Assert.True(TestDatabase.WaitUntil(() => StateOf(storage, id) == SucceededState.StateName, Patience));

        var delayedTag = Tag();
        var scheduledAt = DateTime.UtcNow;
        var delayed = client.Schedule(() => EndToEndJobs.Count(delayedTag), TimeSpan.FromSeconds(3));
        Assert.True(TestDatabase.WaitUntil(() => StateOf(storage, delayed) == SucceededState.StateName, Patience));
        // Hangfire scores the schedule set in whole Unix seconds, so a job may start up to 1 s before its
        // exact EnqueueAt; anything earlier would be a clock bug of the storage.
        var started = EndToEndJobs.StartedAtUtc[delayedTag];
        Assert.True(started >= scheduledAt.AddSeconds(2), $"delayed job started early: {started:O} vs scheduled {scheduledAt:O}");

        Thread.Sleep(500);
        Assert.Equal(1, EndToEndJobs.Runs[tag]);
        Assert.Equal(1, EndToEndJobs.Runs[delayedTag]);
    }

    [Fact]
    public void Continuation_runs_after_its_parent_and_retries_end_failed_after_three_runs()
    {
        var storage = db.CreateStorage();
        using var server = StartServer(storage, "s1");
        var client = new BackgroundJobClient(storage);
        var parentTag = Tag();
        var childTag = Tag();
        var parent = client.Enqueue(() => EndToEndJobs.Slow(parentTag, 500));
        var child = client.ContinueJobWith(parent, () => EndToEndJobs.Count(childTag));
        Assert.True(TestDatabase.WaitUntil(() => StateOf(storage, child) == SucceededState.StateName, Patience));
        Assert.True(EndToEndJobs.FinishedAt[parentTag] < EndToEndJobs.FinishedAt[childTag]);

        var failTag = Tag();
        var failing = client.Enqueue(() => EndToEndJobs.AlwaysFails(failTag));
        Assert.True(TestDatabase.WaitUntil(() => StateOf(storage, failing) == FailedState.StateName, Patience));
        Assert.Equal(3, EndToEndJobs.Runs[failTag]);
    }

    [Fact]
    public void Recurring_job_survives_a_restart_with_a_new_storage_instance()
    {
        var prefix = TestDatabase.NewPrefix();
        var tag = Tag();
        var first = db.CreateStorage(prefix: prefix);
        new RecurringJobManager(first).AddOrUpdate($"rec-{tag}", Job.FromExpression(() => EndToEndJobs.Count(tag)), "*/2 * * * * *");
        using (StartServer(first, "before-restart"))
        {
            Assert.True(TestDatabase.WaitUntil(() => EndToEndJobs.Runs.GetValueOrDefault(tag) >= 1, Patience));
        }

        var runsBefore = EndToEndJobs.Runs[tag];
        var second = db.CreateStorage(prefix: prefix);
        using (StartServer(second, "after-restart"))
        {
            Assert.True(TestDatabase.WaitUntil(() => EndToEndJobs.Runs[tag] >= runsBefore + 2, Patience));
        }

        using var connection = second.GetConnection();
        Assert.Contains($"rec-{tag}", connection.GetAllItemsFromSet("recurring-jobs"));
    }

    [Fact]
    public void Two_servers_run_200_jobs_exactly_once_and_never_overlap_an_exclusive_job()
    {
        var prefix = TestDatabase.NewPrefix();
        var a = db.CreateStorage(prefix: prefix);
        var b = db.CreateStorage(prefix: prefix);
        using var serverA = StartServer(a, "a", workers: 5);
        using var serverB = StartServer(b, "b", workers: 5);
        var clientA = new BackgroundJobClient(a);
        var clientB = new BackgroundJobClient(b);
        var group = Tag();
        var tags = Enumerable.Range(0, 200).Select(_ => Tag()).ToList();
        var ids = new List<string>();
        var exclusiveIds = new List<string>();
        for (var i = 0; i < tags.Count; i++)
        {
            var tag = tags[i];
            ids.Add((i % 2 == 0 ? clientA : clientB).Enqueue(() => EndToEndJobs.Count(tag)));
            if (i % 50 == 0)
            {
                // Held for 2.5 s with a 1 s lock wait: the lock must outlive the wait timeout.
                var exclusiveTag = Tag();
                exclusiveIds.Add((i % 100 == 0 ? clientA : clientB).Enqueue(() => EndToEndJobs.Exclusive(group, exclusiveTag, 2500)));
            }
        }

        var monitor = a.GetMonitoringApi();
        Assert.True(TestDatabase.WaitUntil(() => ids.All(id => StateOf(a, id) == SucceededState.StateName), Patience, 250));
        Assert.True(TestDatabase.WaitUntil(
            () => exclusiveIds.All(id => StateOf(a, id) == SucceededState.StateName || StateOf(a, id) == FailedState.StateName), Patience, 250));
        Thread.Sleep(500);

        Assert.All(tags, tag => Assert.Equal(1, EndToEndJobs.Runs[tag]));
        Assert.Equal(1, EndToEndJobs.MaxInsideExclusive[group]);
        Assert.Contains(exclusiveIds, id => StateOf(a, id) == SucceededState.StateName);
        Assert.Equal(0, monitor.EnqueuedCount("default") + monitor.FetchedCount("default"));
    }

    [Fact]
    public void Job_of_a_server_killed_mid_job_is_finished_by_the_other_server()
    {
        var prefix = TestDatabase.NewPrefix();
        var dead = false;
        var doomed = db.CreateStorage(o => o.InvisibilityTimeout = TimeSpan.FromSeconds(3), prefix);
        var survivor = db.CreateStorage(o => o.InvisibilityTimeout = TimeSpan.FromSeconds(3), prefix);
        var tag = Tag();
        var doomedServer = StartServer(doomed, "doomed", workers: 1);
        try
        {
            var id = new BackgroundJobClient(doomed).Enqueue(() => EndToEndJobs.StuckOnFirstRun(tag));
            Assert.True(TestDatabase.WaitUntil(() => EndToEndJobs.Runs.GetValueOrDefault(tag + ":attempt") == 1, Patience));

            // From now on the doomed process can no longer reach the database: no keep-alive, no
            // heartbeat, no requeue on shutdown, exactly as if it had been killed.
            doomed.ConnectionOpened = _ => throw new InvalidOperationException("simulated crash");
            dead = true;

            using var survivorServer = StartServer(survivor, "survivor", workers: 2);
            Assert.True(TestDatabase.WaitUntil(() => StateOf(survivor, id) == SucceededState.StateName, Patience));
            Assert.Equal(1, EndToEndJobs.Runs[tag]);
        }
        finally
        {
            EndToEndJobs.Gates.GetOrAdd(tag, _ => new ManualResetEventSlim()).Set();
            doomedServer.Dispose();
            Assert.True(dead);
        }
    }

    [Fact]
    public void Bounded_stress_loses_and_duplicates_nothing_and_surfaces_no_deadlocks()
    {
        var seconds = TestDatabase.Seconds("AKSHAREWEB_TEST_STRESS_SECONDS", 60);
        var prefix = TestDatabase.NewPrefix();
        var a = db.CreateStorage(o => o.CountersAggregateInterval = TimeSpan.FromSeconds(2), prefix);
        var b = db.CreateStorage(o => o.CountersAggregateInterval = TimeSpan.FromSeconds(2), prefix);
        var log = new CapturingLogProvider();
        LogProvider.SetCurrentLogProvider(log);
        try
        {
            using var serverA = StartServer(a, "stress-a", workers: 6);
            using var serverB = StartServer(b, "stress-b", workers: 6);
            var tags = new System.Collections.Concurrent.ConcurrentBag<(string Tag, string Id)>();
            var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var producing = System.Diagnostics.Stopwatch.StartNew();
            var producers = new[] { a, b }.Select((storage, n) => new Thread(() =>
            {
                var client = new BackgroundJobClient(storage);
                var i = 0;
                while (producing.Elapsed < TimeSpan.FromSeconds(seconds))
                {
                    try
                    {
                        var tag = Tag();
                        var id = (i++ % 10) switch
                        {
                            0 => client.Schedule(() => EndToEndJobs.Count(tag), TimeSpan.FromSeconds(1)),
                            1 => client.Create(Job.FromExpression(() => EndToEndJobs.Count(tag), "critical"), new EnqueuedState("critical")),
                            _ => client.Enqueue(() => EndToEndJobs.Count(tag)),
                        };
                        tags.Add((tag, id));
                        if (i % 7 == 0)
                        {
                            var childTag = Tag();
                            tags.Add((childTag, client.ContinueJobWith(id, () => EndToEndJobs.Count(childTag))));
                        }

                        Thread.Sleep(5);
                    }
                    catch (Exception ex)
                    {
                        errors.Enqueue(ex);
                    }
                }
            })).ToList();
            producers.ForEach(p => p.Start());
            producers.ForEach(p => p.Join());

            var all = tags.ToList();
            Assert.True(all.Count > 100, $"only {all.Count} jobs were produced");
            Assert.True(
                TestDatabase.WaitUntil(() => all.All(t => EndToEndJobs.Runs.ContainsKey(t.Tag)), TimeSpan.FromSeconds(120), 500),
                $"{all.Count(t => !EndToEndJobs.Runs.ContainsKey(t.Tag))} of {all.Count} jobs never ran");
            Thread.Sleep(1000);

            Assert.Empty(errors);
            Assert.All(all, t => Assert.Equal(1, EndToEndJobs.Runs[t.Tag]));
            Assert.Equal(0, a.GetMonitoringApi().FailedCount());
            Assert.Empty(log.TransientErrors);
        }
        finally
        {
            LogProvider.SetCurrentLogProvider(null);
        }
    }

    private static string Tag() => Guid.NewGuid().ToString("N");

    private static string? StateOf(JobStorage storage, string id)
    {
        using var connection = storage.GetConnection();
        return connection.GetJobData(id)?.State;
    }

    private static BackgroundJobServer StartServer(JobStorage storage, string name, int workers = 4)
        => new(
            new BackgroundJobServerOptions
            {
                ServerName = $"{name}-{Guid.NewGuid():N}",
                WorkerCount = workers,
                Queues = ["critical", "default"],
                SchedulePollingInterval = TimeSpan.FromMilliseconds(500),
                HeartbeatInterval = TimeSpan.FromSeconds(5),
                ServerCheckInterval = TimeSpan.FromSeconds(5),
                ServerTimeout = TimeSpan.FromSeconds(30),
                ShutdownTimeout = TimeSpan.FromSeconds(3),
                StopTimeout = TimeSpan.FromSeconds(1),
            },
            storage);

    /// <summary>Collects any Hangfire log entry that mentions a deadlock or lock wait timeout.</summary>
    private sealed class CapturingLogProvider : ILogProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> TransientErrors { get; } = new();

        public ILog GetLogger(string name) => new Capture(this, name);

        private sealed class Capture(CapturingLogProvider owner, string name) : ILog
        {
            public bool Log(LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
            {
                if (messageFunc is null)
                {
                    return logLevel >= LogLevel.Warn;
                }

                var text = $"{messageFunc()} {exception}";
                if (text.Contains("Deadlock found", StringComparison.OrdinalIgnoreCase)
                    || text.Contains("Lock wait timeout", StringComparison.OrdinalIgnoreCase))
                {
                    owner.TransientErrors.Enqueue($"{name}: {text}");
                }

                return true;
            }
        }
    }
}
