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
/// instances after 30 s.
/// </summary>
public sealed class InstanceOutageTests
{
    /// <summary>The second instance: the first one's database (directly), scripts and fake AKTools.</summary>
    private sealed class DirectInstance : CollectingApp
    {
        private readonly CollectingApp first;

        public DirectInstance(CollectingApp first)
        {
            this.first = first;
            UseDatabase(first.ConnectionString);
            Set("DataScripts:Path", first.ScriptsFolder);
            Set("Catalog:RegistryPath", first.RegistryFile);
            Set("Scheduler:StaleExecutionSeconds", "2");
            Set("Scheduler:WatchdogIntervalSeconds", "0.5");
            Set("Scheduler:InstanceTimeoutSeconds", "30");
        }

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            // One AKTools for both, so the test sees every call either instance makes.
            Set("AkTools:BaseUrl", first.AkTools.BaseUrl);
        }
    }

    private static async Task<(OutageApp Cut, DirectInstance Direct)> PairAsync()
    {
        var cut = new OutageApp();
        await cut.InitializeAsync();
        _ = cut.Server;
        var direct = new DirectInstance(cut);
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
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        JsonNode view;
        do
        {
            view = await ExecutionAsync(client, executionId);
            if (done(view)) return view;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
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
            cut.AkTools.Delay("stock_zh_a_spot_em", TimeSpan.FromSeconds(9.5), new Dictionary<string, object?> { ["代码"] = "000001", ["最新价"] = 10.5 });
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
                // (AKTools answers after 9.5 s, within the client's 10 s.)
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
            cut.AkTools.Handle("stock_zh_a_hist", async context =>
            {
                var now = Interlocked.Increment(ref inFlight);
                for (var seen = Volatile.Read(ref most); now > seen && Interlocked.CompareExchange(ref most, now, seen) != seen; seen = Volatile.Read(ref most))
                {
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(6), context.RequestAborted);
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
                second = (await (await other.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
                for (var i = 0; i < 10; i++)
                {
                    await Task.Delay(250);
                    Assert.Equal("pending", (await ExecutionAsync(other, second))["status"]!.GetValue<string>());
                }
            }
            finally
            {
                cut.Proxy.Restore();
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

    private static async Task TaskTestKitWait(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "not within 15 s");
            await Task.Delay(100);
        }
    }
}
