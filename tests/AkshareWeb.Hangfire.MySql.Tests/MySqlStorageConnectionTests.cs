using Dapper;
using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlStorageConnectionTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public void Job_round_trips_with_explicit_queue_parameters_and_utc_creation_time()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        var createdAt = new DateTime(2024, 3, 10, 1, 2, 3, 456, DateTimeKind.Utc).AddTicks(7890);
        var id = connection.CreateExpiredJob(
            TestJobs.NoopJob("hello", "critical"),
            new Dictionary<string, string?> { ["CurrentCulture"] = "en-US", ["Empty"] = null },
            createdAt,
            TimeSpan.FromHours(1));

        var data = connection.GetJobData(id)!;
        Assert.NotNull(data);
        Assert.Null(data.LoadException);
        Assert.Equal("critical", data.Job.Queue);
        Assert.Equal("hello", data.Job.Args[0]);
        Assert.Equal(DateTimeKind.Utc, data.CreatedAt.Kind);
        Assert.Equal(createdAt.AddTicks(-(createdAt.Ticks % 10)), data.CreatedAt);
        Assert.Null(data.State);
        Assert.Equal("en-US", data.ParametersSnapshot["CurrentCulture"]);
        Assert.Null(data.ParametersSnapshot["Empty"]);
        Assert.Equal("en-US", connection.GetJobParameter(id, "CurrentCulture"));

        connection.SetJobParameter(id, "CurrentCulture", "fr-FR");
        Assert.Equal("fr-FR", connection.GetJobParameter(id, "CurrentCulture"));
    }

    [Fact]
    public void Missing_or_malformed_data_reads_as_null()
    {
        var storage = db.CreateStorage();
        using var connection = (JobStorageConnection)storage.GetConnection();
        Assert.Null(connection.GetJobData("424242"));
        Assert.Null(connection.GetJobData("not-a-number"));
        Assert.Null(connection.GetStateData("424242"));
        Assert.Null(connection.GetStateData("x"));
        Assert.Null(connection.GetJobParameter("424242", "p"));
        Assert.Null(connection.GetAllEntriesFromHash("missing"));
        Assert.Null(connection.GetValueFromHash("missing", "f"));
        Assert.Null(connection.GetFirstByLowestScoreFromSet("missing", 0, 1));
        Assert.Empty(connection.GetAllItemsFromSet("missing"));
        Assert.Equal(TimeSpan.FromSeconds(-1), connection.GetSetTtl("missing"));
        Assert.Equal(0, connection.GetCounter("missing"));
        Assert.Null(storage.GetMonitoringApi().JobDetails("424242"));
    }

    [Fact]
    public void Unloadable_job_surfaces_as_load_exception()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        var id = connection.CreateExpiredJob(TestJobs.NoopJob(), new Dictionary<string, string?>(), DateTime.UtcNow, TimeSpan.FromHours(1));
        using (var raw = db.Open())
        {
            raw.Execute($"UPDATE `{storage.Options.TablesPrefix}job` SET `InvocationData` = @d",
                new { d = """{"t":"No.Such.Type, NoSuchAssembly","m":"Run","p":[]}""" });
        }

        var data = connection.GetJobData(id)!;
        Assert.Null(data.Job);
        Assert.NotNull(data.LoadException);
    }

    [Fact]
    public void State_data_and_history_are_recorded()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        var id = connection.CreateExpiredJob(TestJobs.NoopJob(), new Dictionary<string, string?>(), DateTime.UtcNow, TimeSpan.FromHours(1));
        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.AddJobState(id, new FailedState(new InvalidOperationException("boom")) { Reason = "first" });
            tx.SetJobState(id, new ScheduledState(TimeSpan.FromMinutes(1)) { Reason = new string('r', 300) });
            tx.Commit();
        }

        var state = connection.GetStateData(id)!;
        Assert.Equal(ScheduledState.StateName, state.Name);
        Assert.Equal(100, state.Reason.Length);
        Assert.True(state.Data.ContainsKey("enqueueAt"), "state data must be case-insensitive");
        Assert.Equal(ScheduledState.StateName, connection.GetJobData(id)!.State);

        var history = storage.GetMonitoringApi().JobDetails(id)!.History;
        Assert.Equal([ScheduledState.StateName, FailedState.StateName], history.Select(h => h.StateName));
        Assert.All(history, h => Assert.Equal(DateTimeKind.Utc, h.CreatedAt.Kind));
    }

    [Fact]
    public void Sets_are_ordered_by_score_with_bounds_and_second_precision()
    {
        var storage = db.CreateStorage();
        using var connection = (JobStorageConnection)storage.GetConnection();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.AddToSet("schedule", "c", now + 2);
            tx.AddToSet("schedule", "a", now);
            tx.AddToSet("schedule", "b", now + 1);
            tx.AddToSet("schedule", "late", now + 3600);
            tx.AddToSet("other", "z", 0);
            tx.Commit();
        }

        Assert.Equal("a", connection.GetFirstByLowestScoreFromSet("schedule", now, now + 10));
        Assert.Equal(["a", "b"], connection.GetFirstByLowestScoreFromSet("schedule", now, now + 1, 10));
        Assert.Equal(["b", "c"], connection.GetFirstByLowestScoreFromSet("schedule", now + 1, now + 2, 10));
        Assert.Equal(["a", "b", "c", "late"], connection.GetRangeFromSet("schedule", 0, 10));
        Assert.Equal(["b", "c"], connection.GetRangeFromSet("schedule", 1, 2));
        Assert.Equal(4, connection.GetSetCount("schedule"));
        Assert.Equal(3, connection.GetSetCount(["schedule", "other"], 3));
        Assert.Equal(5, connection.GetSetCount(["schedule", "other"], 100));
        Assert.True(connection.GetSetContains("schedule", "a"));
        Assert.False(connection.GetSetContains("schedule", "A"));
        Assert.Equal(5, connection.GetAllItemsFromSet("schedule").Count + connection.GetAllItemsFromSet("other").Count);

        var ex = Assert.Throws<ArgumentNullException>(() => connection.GetFirstByLowestScoreFromSet(null!, 0, 1, 1));
        Assert.Equal("key", ex.ParamName);

        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.AddToSet("schedule", "a", now + 5); // update score
            tx.RemoveFromSet("schedule", "b");
            tx.AddRangeToSet("range", ["1", "2", "3"]);
            tx.ExpireSet("range", TimeSpan.FromMinutes(10));
            tx.Commit();
        }

        Assert.Equal(["c", "a", "late"], connection.GetRangeFromSet("schedule", 0, 10));
        var ttl = connection.GetSetTtl("range");
        Assert.InRange(ttl, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.PersistSet("range");
            tx.RemoveSet("schedule");
            tx.Commit();
        }

        Assert.Equal(TimeSpan.FromSeconds(-1), connection.GetSetTtl("range"));
        Assert.Equal(0, connection.GetSetCount("schedule"));
    }

    [Fact]
    public void Hashes_store_update_and_expire_fields()
    {
        var storage = db.CreateStorage();
        using var connection = (JobStorageConnection)storage.GetConnection();
        connection.SetRangeInHash("recurring-job:a", [new("Cron", "* * * * *"), new("Queue", "default")]);
        connection.SetRangeInHash("recurring-job:a", [new("Cron", "0 * * * *")]);

        var all = connection.GetAllEntriesFromHash("recurring-job:a")!;
        Assert.Equal(2, all.Count);
        Assert.Equal("0 * * * *", all["Cron"]);
        Assert.Equal("default", connection.GetValueFromHash("recurring-job:a", "Queue"));
        Assert.Equal(2, connection.GetHashCount("recurring-job:a"));

        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.ExpireHash("recurring-job:a", TimeSpan.FromHours(1));
            tx.Commit();
        }

        Assert.InRange(connection.GetHashTtl("recurring-job:a"), TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.RemoveHash("recurring-job:a");
            tx.Commit();
        }

        Assert.Null(connection.GetAllEntriesFromHash("recurring-job:a"));
    }

    [Fact]
    public void Lists_are_newest_first_and_trim_touches_one_key_only()
    {
        var storage = db.CreateStorage();
        using var connection = (JobStorageConnection)storage.GetConnection();
        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            foreach (var v in new[] { "1", "2", "3", "4", "5" })
            {
                tx.InsertToList("list-a", v);
                tx.InsertToList("list-b", v);
            }

            tx.Commit();
        }

        Assert.Equal(["5", "4", "3", "2", "1"], connection.GetAllItemsFromList("list-a"));
        Assert.Equal(["4", "3"], connection.GetRangeFromList("list-a", 1, 2));

        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.TrimList("list-a", 1, 2);
            tx.RemoveFromList("list-b", "3");
            tx.Commit();
        }

        Assert.Equal(["4", "3"], connection.GetAllItemsFromList("list-a"));
        Assert.Equal(["5", "4", "2", "1"], connection.GetAllItemsFromList("list-b"));
        Assert.Equal(4, connection.GetListCount("list-b"));
    }

    [Fact]
    public void Servers_announce_heartbeat_disappear_and_time_out()
    {
        var storage = db.CreateStorage();
        using var connection = storage.GetConnection();
        connection.AnnounceServer("server-1", new ServerContext { WorkerCount = 4, Queues = ["critical", "default"] });
        connection.AnnounceServer("server-2", new ServerContext { WorkerCount = 1, Queues = ["default"] });
        connection.Heartbeat("server-1");

        var servers = storage.GetMonitoringApi().Servers();
        Assert.Equal(2, servers.Count);
        var first = servers.Single(s => s.Name == "server-1");
        Assert.Equal(4, first.WorkersCount);
        Assert.Equal(["critical", "default"], first.Queues);
        Assert.InRange(first.Heartbeat!.Value, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));

        connection.RemoveServer("server-1");
        Assert.Throws<BackgroundServerGoneException>(() => connection.Heartbeat("server-1"));

        Thread.Sleep(300);
        Assert.Equal(0, connection.RemoveTimedOutServers(TimeSpan.FromMinutes(1)));
        Assert.Equal(1, connection.RemoveTimedOutServers(TimeSpan.FromMilliseconds(100)));
        Assert.Empty(storage.GetMonitoringApi().Servers());
    }

    [Fact]
    public void Clock_is_utc_even_with_the_session_time_zone_at_plus_13()
    {
        var storage = db.CreateStorage();
        storage.ConnectionOpened = c => c.Execute("SET time_zone = '+13:00'");
        using var connection = (JobStorageConnection)storage.GetConnection();

        var dbNow = connection.GetUtcDateTime();
        Assert.Equal(DateTimeKind.Utc, dbNow.Kind);
        Assert.InRange(dbNow, DateTime.UtcNow.AddSeconds(-30), DateTime.UtcNow.AddSeconds(30));
        Assert.NotEqual(TimeSpan.Zero, TimeZoneInfo.Local.BaseUtcOffset);

        var createdAt = DateTime.UtcNow;
        var id = connection.CreateExpiredJob(TestJobs.NoopJob(), new Dictionary<string, string?>(), createdAt, TimeSpan.FromHours(1));
        Assert.InRange(connection.GetJobData(id)!.CreatedAt, createdAt.AddMilliseconds(-1), createdAt.AddMilliseconds(1));
        var expireAt = storage.GetMonitoringApi().JobDetails(id)!.ExpireAt!.Value;
        Assert.InRange(expireAt, createdAt.AddMinutes(59), createdAt.AddMinutes(61));

        using (var tx = (JobStorageTransaction)connection.CreateWriteTransaction())
        {
            tx.ExpireJob(id, TimeSpan.FromMinutes(10));
            tx.AddToSet("s", "v");
            tx.ExpireSet("s", TimeSpan.FromMinutes(10));
            tx.Commit();
        }

        Assert.InRange(storage.GetMonitoringApi().JobDetails(id)!.ExpireAt!.Value, DateTime.UtcNow.AddMinutes(9), DateTime.UtcNow.AddMinutes(11));
        Assert.InRange(connection.GetSetTtl("s"), TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));

        connection.AnnounceServer("tz-server", new ServerContext { WorkerCount = 1, Queues = ["default"] });
        Assert.Equal(0, connection.RemoveTimedOutServers(TimeSpan.FromSeconds(30)));
        var heartbeat = storage.GetMonitoringApi().Servers().Single().Heartbeat!.Value;
        Assert.InRange(heartbeat, DateTime.UtcNow.AddSeconds(-30), DateTime.UtcNow.AddSeconds(30));
    }

    [Fact]
    public void Advertises_the_features_core_and_dashboard_need()
    {
        var storage = db.CreateStorage();
        foreach (var feature in new[]
                 {
                     JobStorageFeatures.JobQueueProperty, JobStorageFeatures.ExtendedApi, JobStorageFeatures.ProcessesInsteadOfComponents,
                     JobStorageFeatures.Connection.GetUtcDateTime, JobStorageFeatures.Connection.BatchedGetFirstByLowest,
                     JobStorageFeatures.Connection.GetSetContains, JobStorageFeatures.Connection.LimitedGetSetCount,
                     JobStorageFeatures.Transaction.AcquireDistributedLock, JobStorageFeatures.Monitoring.AwaitingJobs,
                     JobStorageFeatures.Monitoring.DeletedStateGraphs,
                     JobStorageFeatures.Transaction.RemoveFromQueue(typeof(MySqlFetchedJob)),
                 })
        {
            Assert.True(storage.HasFeature(feature), feature);
        }

        Assert.False(storage.HasFeature(JobStorageFeatures.Transaction.CreateJob));
        Assert.False(storage.HasFeature(JobStorageFeatures.Transaction.SetJobParameter));
        Assert.True(storage.LinearizableReads);
        var noAck = db.CreateStorage(o => o.TransactionalAcknowledgement = false);
        Assert.False(noAck.HasFeature(JobStorageFeatures.Transaction.RemoveFromQueue(typeof(MySqlFetchedJob))));
    }
}
