using System.Collections.Concurrent;
using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace AkshareWeb.Tests.Executions;

/// <summary>The app on a clock the test moves: the pruner looks every hour, retention is the default 90 days.</summary>
public sealed class PruningApp : CollectingApp
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> held = new(StringComparer.Ordinal);

    public PruningApp()
    {
        Clock = new FakeTimeProvider(new DateTimeOffset(2025, 3, 3, 2, 0, 0, TimeSpan.Zero));
        Set("SourceRates:Default", "0");
        Set("SourceRates:Families:eastmoney", "0");
    }

    /// <summary>
    /// A daily bar for any symbol asked, as <see cref="TaskTestKit.ServeBars"/>, except that AKTools holds the calls of a
    /// symbol held (<see cref="Hold"/>) until it is released. A held answer begins at once and only its rows wait: a try's
    /// time-out (on the app's clock) ends with the answer's first bytes, so moving the clock on by months times no held
    /// call out.
    /// </summary>
    public void ServeBarsHolding() => AkTools.Handle("stock_zh_a_hist", async context =>
    {
        var symbol = context.Request.Query["symbol"].ToString();
        context.Response.ContentType = "application/json";
        if (held.TryGetValue(symbol, out var gate))
        {
            await context.Response.StartAsync(context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await gate.Task.WaitAsync(context.RequestAborted);
        }

        await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(
            new[] { TestScripts.Bar(symbol, new DateOnly(2024, 6, 3), 9.5) }), context.RequestAborted);
    });

    /// <summary>AKTools holds this symbol's calls from now on, until <see cref="Release"/>.</summary>
    public void Hold(string symbol) => held.TryAdd(symbol, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>AKTools answers this held symbol's calls (those waiting and those to come).</summary>
    public void Release(string symbol)
    {
        if (held.TryGetValue(symbol, out var gate)) gate.TrySetResult();
    }

    /// <summary>Every held symbol goes: a test that failed half-way leaves no run holding a slot for the next one.</summary>
    public void ReleaseAll()
    {
        foreach (var gate in held.Values) gate.TrySetResult();
    }
}

public sealed class PruningTests(PruningApp app) : IClassFixture<PruningApp>
{
    private async Task<string> RunTaskAsync(HttpClient client, long taskId)
    {
        var id = (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        Assert.Equal("completed", (await app.WaitForEndAsync(client, id, 60))["status"]!.GetValue<string>());
        return id;
    }

    private async Task<long> CountAsync(string sql, object args)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>(sql, args);
    }

    private static async Task<string> StartedAsync(HttpClient client, long taskId) =>
        (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

    private static async Task SettingsAsync(HttpClient admin, object settings) =>
        await (await admin.PutAsJsonAsync("/api/settings/", settings)).ExpectAsync(200, 0);

    /// <summary>A task of daily bars over these symbols (one: a single run; more: a parted run, two parts at once), with an
    /// hour for each call and no overall limit: a run AKTools holds outlasts the time the clock takes to move by months.</summary>
    private static object BarsTask(params string[] symbols) => new
    {
        name = "日线 " + symbols[0],
        script_id = "stock_zh_a_hist",
        schedule_type = "cron",
        schedule_expression = "0 3 1 1 *",
        parameters = symbols.Length == 1 ? (object)new { symbol = symbols[0] } : new { symbol = new { values = symbols } },
        retry_on_failure = false,
        max_retries = 0,
        timeout_seconds = 3600,
        max_run_minutes = 0,
        concurrency = 2,
    };

    private async Task<(long Pending, long Running)> PartsOfAsync(string executionId)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.QuerySingleAsync<(long, long)>(
            "SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED), CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED) FROM execution_parts WHERE execution_id = @executionId",
            new { executionId });
    }

    private Task UntilAsync(IReadOnlyDictionary<string, string> expected, int seconds = 60) => app.UntilRunsAsync(expected, app.Clock!, seconds: seconds);

    [Fact]
    public async Task Executions_and_parts_older_than_the_retention_go_and_each_tasks_newest_stays()
    {
        app.ServeBars();
        var (client, _, _) = await app.NewUserAsync();
        var old = (await client.CreateAsync(TaskTestKit.Daily("600100", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var oldRuns = new List<string>();
        for (var i = 0; i < 3; i++) oldRuns.Add(await RunTaskAsync(client, old));
        // A download over three symbols: a run with three parts.
        var parted = (await app.DownloadAsync("stock_zh_a_hist", new { symbol = new { values = new[] { "600101", "600102", "600103" } } }, 60, client))["execution_id"]!.GetValue<string>();
        Assert.Equal(3, await CountAsync("SELECT COUNT(*) FROM execution_parts WHERE execution_id = @parted", new { parted }));

        // 89 days on: within the retention, the pruner's tick deletes nothing.
        app.Clock!.Advance(TimeSpan.FromDays(89));
        (client, _, _) = await app.NewUserAsync();
        var young = (await client.CreateAsync(TaskTestKit.Daily("600104", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var youngRuns = new List<string> { await RunTaskAsync(client, young), await RunTaskAsync(client, young) };
        var all = oldRuns.Append(parted).Concat(youngRuns).ToArray();
        Assert.Equal(all.Length, await CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @all", new { all }));

        // Two days more: the first runs are 91 days old. The pruner's next tick takes them, but not the old task's newest.
        app.Clock.Advance(TimeSpan.FromDays(2));
        var gone = oldRuns.Take(2).Append(parted).ToArray();
        var left = await TaskTestKit.EventuallyAsync(() => CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @gone", new { gone }), n => n == 0);
        Assert.Equal(0, left);
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM execution_parts WHERE execution_id = @parted", new { parted }));
        var kept = youngRuns.Append(oldRuns[2]).ToArray();
        Assert.Equal(kept.Length, await CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @kept", new { kept }));

        // What the API shows agrees: the old task's last run is still its last, the pruned ones are gone.
        var admin = await app.AdminAsync();
        await (await admin.GetAsync($"/api/executions/{oldRuns[0]}")).ExpectAsync(404, 2001);
        var listed = (await (await admin.GetAsync($"/api/executions/?task_id={old}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, listed["total"]!.GetValue<long>());
        Assert.Equal(oldRuns[2], listed["items"]![0]!["execution_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task At_the_slot_limit_each_users_old_runs_and_parts_go_but_no_run_pending_or_running_whatever_its_age()
    {
        app.ServeBarsHolding();
        var admin = await app.AdminAsync();
        var settings = (await (await admin.GetAsync("/api/settings/")).ExpectAsync(200, 0))["data"]!;
        var (slots, percent) = (settings["max_concurrent_tasks"]!.GetValue<int>(), settings["user_max_slots_percent"]!.GetValue<int>());
        // Two slots; an ordinary user's manual runs may hold one of them.
        await SettingsAsync(admin, new { max_concurrent_tasks = 2, user_max_slots_percent = 50 });
        var clock = app.Clock!;
        string[] held = ["600121", "600122", "600123", "600127"];
        try
        {
            var (alice, aliceName, _) = await app.NewUserAsync();
            var (bob, bobName, _) = await app.NewUserAsync();

            // Day 0. Alice runs her parted task twice; Bob runs his task twice, a parted download, and another task once;
            // the admin runs a task of the admin's own once.
            var parted = (await alice.CreateAsync(BarsTask("600121", "600122")))["id"]!.GetValue<long>();
            var aliceOld = new[] { await RunTaskAsync(alice, parted), await RunTaskAsync(alice, parted) };
            var bobs = (await bob.CreateAsync(BarsTask("600123")))["id"]!.GetValue<long>();
            var bobOld = new[] { await RunTaskAsync(bob, bobs), await RunTaskAsync(bob, bobs) };
            var downloaded = await app.DownloadAsync("stock_zh_a_hist", new { symbol = new { values = new[] { "600124", "600125" } } }, 60, bob);
            Assert.Equal("completed", downloaded["status"]!.GetValue<string>());
            var bobDownload = downloaded["execution_id"]!.GetValue<string>();
            var once = (await bob.CreateAsync(BarsTask("600126")))["id"]!.GetValue<long>();
            var bobOnce = await RunTaskAsync(bob, once);
            var admins = (await admin.CreateAsync(BarsTask("600127")))["id"]!.GetValue<long>();
            var adminOld = await RunTaskAsync(admin, admins);
            var partedOld = aliceOld.Append(bobDownload).ToArray();
            Assert.Equal(6, await CountAsync("SELECT COUNT(*) FROM execution_parts WHERE execution_id IN @partedOld", new { partedOld }));

            // Still day 0, at the slot limit: AKTools holds the next calls of the three tasks. Alice's third run and Bob's
            // third hold the two slots (her two parts both running); the admin's second run waits for one.
            foreach (var symbol in held) app.Hold(symbol);
            var aliceRun = await StartedAsync(alice, parted);
            Assert.Equal((0L, 2L), await TaskTestKit.EventuallyAsync(() => PartsOfAsync(aliceRun), c => c == (0, 2), 60));
            var bobRun = await StartedAsync(bob, bobs);
            await UntilAsync(new Dictionary<string, string> { [aliceRun] = "running", [bobRun] = "running" });
            var adminRun = await StartedAsync(admin, admins);
            await UntilAsync(new Dictionary<string, string> { [aliceRun] = "running", [bobRun] = "running", [adminRun] = "pending" });
            var open = new[] { aliceRun, bobRun, adminRun };

            // 89 days on, within the retention: nothing goes. The clock passed the tokens' lifetime: each signs in again,
            // and downloads once.
            clock.Advance(TimeSpan.FromDays(89));
            alice = await app.SignedInAsync(aliceName, "password-123");
            bob = await app.SignedInAsync(bobName, "password-123");
            admin = await app.AdminAsync();
            var young = new List<string>();
            foreach (var (client, symbol) in new[] { (alice, "600128"), (bob, "600129"), (admin, "600130") })
            {
                var download = await app.DownloadAsync("stock_zh_a_hist", new { symbol }, 60, client);
                Assert.Equal("completed", download["status"]!.GetValue<string>());
                young.Add(download["execution_id"]!.GetValue<string>());
            }

            var all = aliceOld.Concat(bobOld).Append(bobDownload).Append(bobOnce).Append(adminOld).Concat(open).Concat(young).ToArray();
            Assert.Equal(all.Length, await CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @all", new { all }));

            // Two days more: day 0 is 91 days ago. The pruner's next tick takes every user's old runs that ended and are not
            // their task's newest, with their parts: Alice's two, Bob's two and his download, the admin's one.
            clock.Advance(TimeSpan.FromDays(2));
            var gone = aliceOld.Concat(bobOld).Append(bobDownload).Append(adminOld).ToArray();
            var left = await TaskTestKit.EventuallyAsync(() => CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @gone", new { gone }), n => n == 0, 60);
            Assert.Equal(0, left);
            Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM execution_parts WHERE execution_id IN @gone", new { gone }));

            // What stays: Bob's task run once (its task's newest, old as it is), the young downloads, and the three runs
            // running or waiting though they are 91 days old, Alice's with both its parts, still running.
            var kept = open.Concat(young).Append(bobOnce).ToArray();
            Assert.Equal(kept.Length, await CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @kept", new { kept }));
            var retention = clock.GetUtcNow().UtcDateTime - TimeSpan.FromDays(90);
            Assert.Equal(open.Length, await CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @open AND created_at < @retention", new { open, retention }));
            Assert.Equal((0L, 2L), await PartsOfAsync(aliceRun));
            await UntilAsync(new Dictionary<string, string> { [aliceRun] = "running", [bobRun] = "running", [adminRun] = "pending" });

            // What each user sees agrees: the pruned runs are gone, each task's newest is its only run left.
            alice = await app.SignedInAsync(aliceName, "password-123");
            bob = await app.SignedInAsync(bobName, "password-123");
            admin = await app.AdminAsync();
            await (await alice.GetAsync($"/api/executions/{aliceOld[0]}")).ExpectAsync(404, 2001);
            await (await bob.GetAsync($"/api/executions/{bobDownload}")).ExpectAsync(404, 2001);
            await (await admin.GetAsync($"/api/executions/{adminOld}")).ExpectAsync(404, 2001);
            foreach (var (client, taskId, newest, status) in new[]
                     {
                         (alice, parted, aliceRun, "running"), (bob, bobs, bobRun, "running"), (bob, once, bobOnce, "completed"), (admin, admins, adminRun, "pending"),
                     })
            {
                var listed = (await (await client.GetAsync($"/api/executions/?task_id={taskId}")).ExpectAsync(200, 0))["data"]!;
                Assert.Equal(1, listed["total"]!.GetValue<long>());
                Assert.Equal((newest, status), (listed["items"]![0]!["execution_id"]!.GetValue<string>(), listed["items"]![0]!["status"]!.GetValue<string>()));
            }

            // Let go, the two running runs complete, then the admin's takes a slot and completes.
            foreach (var symbol in held) app.Release(symbol);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, aliceRun, 60))["status"]!.GetValue<string>());
            Assert.Equal("completed", (await app.WaitForEndAsync(bob, bobRun, 60))["status"]!.GetValue<string>());
            await UntilAsync(new Dictionary<string, string> { [adminRun] = "completed" });
            Assert.Equal("completed", (await app.WaitForEndAsync(admin, adminRun, 60))["status"]!.GetValue<string>());
            Assert.Equal(2, await CountAsync("SELECT COUNT(*) FROM execution_parts WHERE execution_id = @aliceRun AND status = 'completed'", new { aliceRun }));
        }
        finally
        {
            app.ReleaseAll();
            await SettingsAsync(await app.AdminAsync(), new { max_concurrent_tasks = slots, user_max_slots_percent = percent });
        }
    }
}
