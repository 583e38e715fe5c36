using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlMonitoringApiTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public void Statistics_lists_and_paging_match_the_data()
    {
        var storage = db.CreateStorage(o => o.DashboardJobListLimit = 50);
        using var connection = storage.GetConnection();
        var enqueued = Enumerable.Range(0, 7).Select(_ => MySqlWriteOnlyTransactionTests.Enqueue(connection, "default")).ToList();
        MySqlWriteOnlyTransactionTests.Enqueue(connection, "critical");
        var succeeded = Enumerable.Range(0, 60).Select(_ => WithState(connection, new SucceededState("result", 10, 20))).ToList();
        var failed = WithState(connection, new FailedState(new InvalidOperationException("bad")) { Reason = "why" });
        var scheduled = WithState(connection, new ScheduledState(TimeSpan.FromHours(1)));
        var processing = WithState(connection, new FakeState(ProcessingState.StateName, new Dictionary<string, string> { ["ServerId"] = "server-x", ["StartedAt"] = JobHelper.SerializeDateTime(DateTime.UtcNow) }));
        var deleted = WithState(connection, new DeletedState());
        var awaiting = WithState(connection, new AwaitingState(scheduled));
        using (var tx = connection.CreateWriteTransaction())
        {
            tx.AddToSet("recurring-jobs", "r1");
            tx.AddToSet("retries", failed);
            for (var i = 0; i < 3; i++)
            {
                tx.IncrementCounter("stats:succeeded");
                tx.IncrementCounter($"stats:succeeded:{DateTime.UtcNow:yyyy-MM-dd}");
                tx.IncrementCounter($"stats:succeeded:{DateTime.UtcNow:yyyy-MM-dd-HH}");
            }

            tx.IncrementCounter("stats:deleted");
            tx.Commit();
        }

        using var fetched = connection.FetchNextJob(["default"], CancellationToken.None);
        var api = (JobStorageMonitor)storage.GetMonitoringApi();

        var stats = api.GetStatistics();
        Assert.Equal(8, stats.Enqueued);
        Assert.Equal(1, stats.Failed);
        Assert.Equal(1, stats.Scheduled);
        Assert.Equal(1, stats.Processing);
        Assert.Equal(1, stats.Awaiting);
        Assert.Equal(3, stats.Succeeded);
        Assert.Equal(1, stats.Deleted);
        Assert.Equal(1, stats.Recurring);
        Assert.Equal(1, stats.Retries);
        Assert.Equal(2, stats.Queues);

        var queues = api.Queues();
        Assert.Equal(["critical", "default"], queues.Select(q => q.Name));
        var defaultQueue = queues.Single(q => q.Name == "default");
        Assert.Equal(6, defaultQueue.Length);
        Assert.Equal(1, defaultQueue.Fetched);
        Assert.Equal(enqueued.Skip(1).Take(5), defaultQueue.FirstJobs.Select(j => j.Key));
        Assert.True(defaultQueue.FirstJobs.First().Value.InEnqueuedState);
        Assert.NotNull(defaultQueue.FirstJobs.First().Value.EnqueuedAt);

        Assert.Equal(enqueued.Skip(3).Take(2), api.EnqueuedJobs("default", 2, 2).Select(j => j.Key));
        Assert.Equal([enqueued[0]], api.FetchedJobs("default", 0, 10).Select(j => j.Key));
        Assert.NotNull(api.FetchedJobs("default", 0, 10).Single().Value.FetchedAt);

        Assert.Equal(50, api.SucceededListCount()); // capped by DashboardJobListLimit
        var page = api.SucceededJobs(10, 5);
        Assert.Equal(Enumerable.Reverse(succeeded).Skip(10).Take(5), page.Select(j => j.Key));
        Assert.Equal(30, page.First().Value.TotalDuration);
        Assert.Equal(5, api.SucceededJobs(45, 20).Count);

        var failedDto = Assert.Single(api.FailedJobs(0, 10)).Value;
        Assert.Equal("why", failedDto.Reason);
        Assert.Equal("bad", failedDto.ExceptionMessage);
        Assert.Equal(1, api.FailedCount());
        Assert.Equal("server-x", Assert.Single(api.ProcessingJobs(0, 10)).Value.ServerId);
        Assert.True(Assert.Single(api.ScheduledJobs(0, 10)).Value.EnqueueAt > DateTime.UtcNow);
        Assert.Equal(deleted, Assert.Single(api.DeletedJobs(0, 10)).Key);
        var awaitingDto = Assert.Single(api.AwaitingJobs(0, 10));
        Assert.Equal(awaiting, awaitingDto.Key);
        Assert.Equal(ScheduledState.StateName, awaitingDto.Value.ParentStateName);
        Assert.Equal(1, api.AwaitingCount());
        Assert.Equal(1, api.ScheduledCount());
        Assert.Equal(1, api.ProcessingCount());
        Assert.Equal(1, api.DeletedListCount());

        Assert.Equal(3, api.HourlySucceededJobs().Values.Sum());
        Assert.Equal(24, api.HourlySucceededJobs().Count);
        Assert.Equal(3, api.SucceededByDatesCount().Values.Sum());
        Assert.Equal(0, api.FailedByDatesCount().Values.Sum());
        Assert.Equal(7, api.DeletedByDatesCount().Count);
        Assert.Equal(24, api.HourlyDeletedJobs().Count);
        Assert.Equal(24, api.HourlyFailedJobs().Count);

        var details = api.JobDetails(failed)!;
        Assert.Equal(FailedState.StateName, details.History[0].StateName);
        Assert.NotNull(details.Job);
        Assert.Equal(processing, api.ProcessingJobs(0, 1).Single().Key);
        fetched.RemoveFromQueue();
    }

    private sealed class FakeState(string name, Dictionary<string, string> data) : IState
    {
        public string Name => name;
        public string? Reason => null;
        public bool IsFinal => false;
        public bool IgnoreJobLoadException => false;
        public Dictionary<string, string> SerializeData() => data;
    }

    private static string WithState(IStorageConnection connection, IState state)
    {
        var id = connection.CreateExpiredJob(Job.FromExpression(() => TestJobs.Noop("m")), new Dictionary<string, string?>(), DateTime.UtcNow, TimeSpan.FromHours(1));
        using var tx = connection.CreateWriteTransaction();
        tx.SetJobState(id, state);
        tx.Commit();
        return id;
    }
}
