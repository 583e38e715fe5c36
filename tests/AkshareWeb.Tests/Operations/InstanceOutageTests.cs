using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Common;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Operations;

/// <summary>
/// Two instances on one database, the first one's connection through a proxy the test cuts: the first loses the
/// database alone, the second keeps it and its watchdog sees no outage. Dead runs are judged after 2 s, silent
/// instances after 30 s. AKTools answers the runs the tests cut off only once the database is back, whatever the
/// steps before took (the client waits up to a minute for it: OutageApp).
/// </summary>
public sealed class InstanceOutageTests
{
    /// <summary>The second instance: the first one's database (directly), scripts and, unless it has its own, fake AKTools.</summary>
    private sealed class DirectInstance : CollectingApp
    {
        private readonly CollectingApp first;
        private readonly bool ownAkTools;

        public DirectInstance(CollectingApp first, int instanceTimeoutSeconds, bool ownAkTools)
        {
            (this.first, this.ownAkTools) = (first, ownAkTools);
            UseDatabase(first.ConnectionString);
            Set("DataScripts:Path", first.ScriptsFolder);
            Set("Catalog:RegistryPath", first.RegistryFile);
            Set("Scheduler:StaleExecutionSeconds", "2");
            Set("Scheduler:WatchdogIntervalSeconds", "0.5");
            Set("Scheduler:InstanceTimeoutSeconds", instanceTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Set("SourceRates:Families:eastmoney", "0");
        }

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            // One AKTools for both, so the test sees every call either instance makes.
            if (!ownAkTools) Set("AkTools:BaseUrl", first.AkTools.BaseUrl);
        }
    }

    private static async Task<(OutageApp Cut, DirectInstance Direct)> PairAsync(int instanceTimeoutSeconds = 30, bool ownAkTools = false)
    {
        var cut = new OutageApp();
        cut.InstanceTimeout(instanceTimeoutSeconds);
        await cut.InitializeAsync();
        _ = cut.Server;
        var direct = new DirectInstance(cut, instanceTimeoutSeconds, ownAkTools);
        await direct.InitializeAsync();
        return (cut, direct);
    }

    private static async Task DisposeAsync(OutageApp cut, DirectInstance direct)
    {
        await ((IAsyncLifetime)direct).DisposeAsync();
        await ((IAsyncLifetime)cut).DisposeAsync();
    }

    private static async Task<JsonNode> ExecutionAsync(HttpClient client, string executionId) =>
        (await (await client.GetAsync("/api/executions/" + executionId)).ExpectAsync(200, 0))["data"]!;

    private static async Task<JsonNode> WaitForAsync(HttpClient client, string executionId, Func<JsonNode, bool> done, int seconds = 20)
    {
        var deadline = Deadline.In(seconds);
        JsonNode view;
        do
        {
            view = await ExecutionAsync(client, executionId);
            if (done(view)) return view;
            await Task.Delay(50);
        }
        while (!deadline.Passed);
        Assert.Fail($"execution {executionId} did not get there: {view.ToJsonString()}");
        return view;
    }

    [Fact]
    public async Task A_run_on_an_instance_cut_off_from_the_database_is_not_failed_by_another_instance_and_records_its_real_end()
    {
        var (cut, direct) = await PairAsync();
        try
        {
            var (client, username, _) = await cut.NewUserAsync();
            // AKTools answers once the test has given the database back, however long the steps before take.
            var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cut.AkTools.Handle("stock_zh_a_spot_em", async context =>
            {
                await answer.Task.WaitAsync(context.RequestAborted);
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("[{\"代码\": \"000001\", \"最新价\": 10.5}]", context.RequestAborted);
            });
            long interfaceId;
            await using (var db = await cut.OpenDatabaseAsync())
            {
                interfaceId = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_spot_em'");
            }

            // Started while the first instance is the only one, so it is the one that runs it.
            var executionId = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = interfaceId, parameters = new { } }))
                .ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
            await WaitForAsync(client, executionId, v => v["status"]!.GetValue<string>() == "running");
            var worker = cut.Services.GetRequiredService<RunningExecutions>().Worker;
            await using var watch = await direct.OpenDatabaseAsync();
            Assert.Equal(worker, await watch.ExecuteScalarAsync<string>("SELECT worker FROM executions WHERE execution_id = @executionId", new { executionId }));

            // The second instance is up and its watchdog beats.
            var other = await direct.SignedInAsync(username, "password-123");
            var otherWorker = direct.Services.GetRequiredService<RunningExecutions>().Worker;
            await TaskTestKitWait(async () => await watch.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM execution_instances WHERE worker = @otherWorker", new { otherWorker }) == 1);

            cut.Proxy.Cut();
            double silentFor = 0;
            try
            {
                // Five seconds, two and a half stale periods: the second instance's watchdog looks ten times meanwhile.
                for (var i = 0; i < 20; i++)
                {
                    await Task.Delay(250);
                    Assert.Equal("running", (await ExecutionAsync(other, executionId))["status"]!.GetValue<string>());
                }

                silentFor = await watch.ExecuteScalarAsync<double>(
                    "SELECT TIMESTAMPDIFF(MICROSECOND, heartbeat_at, UTC_TIMESTAMP(6)) / 1e6 FROM executions WHERE execution_id = @executionId", new { executionId });
            }
            finally
            {
                cut.Proxy.Restore();
                answer.TrySetResult();
            }

            // The run's heartbeat had been stale for well over the 2 s limit: only its instance's row kept it.
            Assert.True(silentFor > 3.5, $"heartbeat stale for {silentFor} s only");
            var ended = await cut.WaitForEndAsync(client, executionId, 30);
            Assert.True(ended["status"]!.GetValue<string>() == "completed", ended.ToJsonString());
            Assert.Null(ended["error_message"]?.GetValue<string>());
            Assert.Equal(1, ended["rows_affected"]!.GetValue<long>());
            Assert.Equal(1, await watch.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_spot_em WHERE `代码` = '000001'"));
        }
        finally
        {
            await DisposeAsync(cut, direct);
        }
    }

    [Fact]
    public async Task A_stale_run_is_failed_once_its_instance_is_silent_too_and_not_before()
    {
        var (cut, direct) = await PairAsync();
        try
        {
            var (client, _, _) = await direct.NewUserAsync();
            direct.AkTools.Rows("macro_cnbs", new Dictionary<string, object?> { ["年份"] = "2024-03", ["居民部门"] = 61.9 });
            var runs = new List<string>();
            for (var i = 0; i < 2; i++) runs.Add((await direct.DownloadAsync("macro_cnbs", client: client))["execution_id"]!.GetValue<string>());
            await using var db = await direct.OpenDatabaseAsync();

            // What two instances that stopped answering leave: one silent for an hour (crashed), one that beats
            // (cut off from the database only from its runs' point of view, or hung in a run).
            await db.ExecuteAsync("""
                INSERT INTO execution_instances (worker, started_at, heartbeat_at) VALUES
                  ('crashed-host:1:aaaaaaaa', UTC_TIMESTAMP(6) - INTERVAL 2 HOUR, UTC_TIMESTAMP(6) - INTERVAL 1 HOUR),
                  ('living-host:1:bbbbbbbb', UTC_TIMESTAMP(6) - INTERVAL 2 HOUR, UTC_TIMESTAMP(6));
                UPDATE executions SET status = 'running', end_time = NULL, worker = 'crashed-host:1:aaaaaaaa', heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR
                  WHERE execution_id = @crashed;
                UPDATE executions SET status = 'running', end_time = NULL, worker = 'living-host:1:bbbbbbbb', heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR
                  WHERE execution_id = @living;
                """, new { crashed = runs[0], living = runs[1] });

            var dead = await WaitForAsync(client, runs[0], v => v["status"]!.GetValue<string>() != "running", 10);
            Assert.Equal("failed", dead["status"]!.GetValue<string>());
            Assert.Contains("the worker running it stopped answering (crashed-host:1:aaaaaaaa)", dead["error_message"]!.GetValue<string>(), StringComparison.Ordinal);

            // Both watchdogs have looked several times since: the run of the instance that beats stays.
            await Task.Delay(2000);
            Assert.Equal("running", (await ExecutionAsync(client, runs[1]))["status"]!.GetValue<string>());

            // Once that instance is silent for longer than the instance timeout, its run goes the same way.
            await db.ExecuteAsync("UPDATE execution_instances SET heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 31 SECOND WHERE worker = 'living-host:1:bbbbbbbb'");
            var later = await WaitForAsync(client, runs[1], v => v["status"]!.GetValue<string>() != "running", 10);
            Assert.Equal("failed", later["status"]!.GetValue<string>());
        }
        finally
        {
            await DisposeAsync(cut, direct);
        }
    }

    [Fact]
    public async Task A_run_whose_slot_lock_went_with_its_connection_keeps_its_slot_and_max_concurrent_tasks_holds()
    {
        var (cut, direct) = await PairAsync();
        try
        {
            var admin = await cut.AdminAsync();
            await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 1 })).ExpectAsync(200, 0);
            // AKTools as both instances see it: how many calls are in flight at once, at most.
            int inFlight = 0, most = 0;
            // The first run's call is answered once the test has given the database back, however long the steps take.
            var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cut.AkTools.Handle("stock_zh_a_hist", async context =>
            {
                var now = Interlocked.Increment(ref inFlight);
                for (var seen = Volatile.Read(ref most); now > seen && Interlocked.CompareExchange(ref most, now, seen) != seen; seen = Volatile.Read(ref most))
                {
                }

                try
                {
                    await answer.Task.WaitAsync(context.RequestAborted);
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }

                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(
                    new[] { TestScripts.Bar(context.Request.Query["symbol"].ToString(), new DateOnly(2024, 6, 3), 9.5) }), context.RequestAborted);
            });
            var (client, username, _) = await cut.NewUserAsync();
            var taskId = (await client.CreateAsync(TaskTestKit.Daily("000321", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
            // The second run is another task's: a task has one run pending or running at a time.
            var secondTaskId = (await client.CreateAsync(TaskTestKit.Daily("000322", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();

            // The first run, on the first instance (the only one yet), holds the one slot.
            var first = (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
            await WaitForAsync(client, first, v => v["status"]!.GetValue<string>() == "running");
            var other = await direct.SignedInAsync(username, "password-123");

            // The first instance loses the database: the slot's lock goes with its connection, the run goes on.
            cut.Proxy.Cut();
            string second;
            try
            {
                await Task.Delay(500);
                second = (await (await other.PostAsync($"/api/tasks/{secondTaskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
                for (var i = 0; i < 10; i++)
                {
                    await Task.Delay(250);
                    Assert.Equal("pending", (await ExecutionAsync(other, second))["status"]!.GetValue<string>());
                }
            }
            finally
            {
                cut.Proxy.Restore();
                answer.TrySetResult();
            }

            var firstEnd = await direct.WaitForEndAsync(other, first, 30);
            var secondEnd = await direct.WaitForEndAsync(other, second, 30);
            Assert.True(firstEnd["status"]!.GetValue<string>() == "completed", firstEnd.ToJsonString());
            Assert.True(secondEnd["status"]!.GetValue<string>() == "completed", secondEnd.ToJsonString());
            Assert.Equal(1, Volatile.Read(ref most));
            // Giving back a slot whose connection the database dropped is no failure of the job (which would skip
            // the retry the task asks for).
            Assert.Equal(0, cut.Services.GetRequiredService<global::Hangfire.JobStorage>().GetMonitoringApi().FailedCount());
            Assert.True(secondEnd["start_time"]!.GetValue<DateTime>() >= firstEnd["end_time"]!.GetValue<DateTime>(),
                $"the second run started at {secondEnd["start_time"]}, before the first ended at {firstEnd["end_time"]}");
        }
        finally
        {
            await DisposeAsync(cut, direct);
        }
    }

    /// <summary>
    /// The first instance runs a parted run, two parts at once (the run's concurrency, for both instances together),
    /// and loses the database with both parts in AKTools' hands. The second instance, started while the first is cut
    /// off, finds the run through OpenPartedRunsAsync and joins it; once the first has been silent for the instance
    /// timeout its two parts go back to pending, and the second collects all six. When the first is back, its late
    /// answers change nothing: the parts are no longer its own.
    /// </summary>
    [Fact]
    public async Task A_parted_run_of_an_instance_cut_off_is_joined_and_finished_by_another()
    {
        var (cut, direct) = await PairAsync(instanceTimeoutSeconds: 4, ownAkTools: true);
        try
        {
            var symbols = Enumerable.Range(1, 6).Select(i => $"73{i:D4}").ToArray();
            var day = new DateOnly(2024, 6, 3);
            async Task ServeAsync(HttpContext context, Task held, System.Collections.Concurrent.ConcurrentQueue<string> calls)
            {
                var symbol = context.Request.Query["symbol"].ToString();
                calls.Enqueue(symbol);
                await held.WaitAsync(context.RequestAborted);
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(
                    Enumerable.Range(0, 3).Select(d => TestScripts.Bar(symbol, day.AddDays(d), 10 + d))), context.RequestAborted);
            }

            // The first instance's AKTools answers once the database is back; the second's at once.
            var back = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var firstCalls = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var secondCalls = new System.Collections.Concurrent.ConcurrentQueue<string>();
            cut.AkTools.Handle("fanout_bars_em", context => ServeAsync(context, back.Task, firstCalls));
            var (client, username, _) = await cut.NewUserAsync();
            var taskId = await cut.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = symbols } }, concurrency: 2);
            var executionId = await AkshareWeb.Tests.Parts.PartsApp.ExecuteAsync(client, taskId);
            await TaskTestKitWait(() => Task.FromResult(firstCalls.Count >= 2));

            cut.Proxy.Cut();
            JsonNode during;
            try
            {
                direct.AkTools.Handle("fanout_bars_em", context => ServeAsync(context, Task.CompletedTask, secondCalls));
                var other = await direct.SignedInAsync(username, "password-123");
                // Ended by the second instance alone, while the first is still cut off.
                during = await WaitForAsync(other, executionId, v => v["status"]!.GetValue<string>() != "running", 60);
            }
            finally
            {
                cut.Proxy.Restore();
                back.TrySetResult();
            }

            Assert.True(during["status"]!.GetValue<string>() == "completed", during.ToJsonString());
            Assert.Equal(6, during["parts_done"]!.GetValue<int>());
            Assert.Equal(symbols.Take(2), firstCalls.Order(StringComparer.Ordinal));
            Assert.Equal(symbols, secondCalls.Order(StringComparer.Ordinal));
            var secondWorker = direct.Services.GetRequiredService<RunningExecutions>().Worker;
            Assert.All(await AkshareWeb.Tests.Parts.PartsApp.PartsAsync(client, executionId), p => Assert.Equal(secondWorker, p!["worker"]!.GetValue<string>()));

            // The first instance's two late answers: its parts were given to the second; the run stays as it ended.
            await TaskTestKitWait(() => Task.FromResult(!cut.Services.GetRequiredService<PartParticipations>().IsIn(executionId)));
            var after = await ExecutionAsync(client, executionId);
            Assert.Equal("completed", after["status"]!.GetValue<string>());
            Assert.Equal(6, after["parts_done"]!.GetValue<int>());
            var bars = await cut.BarsAsync("ak_fanout_bars_em");
            Assert.Equal(symbols.SelectMany(s => Enumerable.Range(0, 3).Select(d => (s, day.AddDays(d).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "daily"))),
                bars.Where(b => b.Symbol.StartsWith("73", StringComparison.Ordinal)));
        }
        finally
        {
            await DisposeAsync(cut, direct);
        }
    }

    private static async Task TaskTestKitWait(Func<Task<bool>> condition)
    {
        var deadline = Deadline.In(15);
        while (!await condition())
        {
            Assert.True(!deadline.Passed, "not within 15 s");
            await Task.Delay(100);
        }
    }
}
