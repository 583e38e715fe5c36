using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace AkshareWeb.Tests.Executions;

/// <summary>The app on a clock the test moves, AKTools holding every call until the test lets it go (or the run
/// gives it up), parts started as fast as they are taken. A symbol held on its own (<see cref="Hold"/>) waits for its
/// <see cref="Release"/>, whether or not <see cref="Answer"/> let the others go.</summary>
public sealed class RunDeadlineApp : CollectingApp
{
    private readonly TaskCompletionSource answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> held = new(StringComparer.Ordinal);

    public RunDeadlineApp()
    {
        Clock = new FakeTimeProvider(new DateTimeOffset(2025, 3, 3, 2, 0, 0, TimeSpan.Zero));
        Set("SourceRates:Default", "0");
        Set("SourceRates:Families:eastmoney", "0");
        Set("AkTools:TimeoutSeconds", "300");
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AkTools.Handle("stock_zh_a_hist", async context =>
        {
            var symbol = context.Request.Query["symbol"].ToString();
            await (held.TryGetValue(symbol, out var gate) ? gate : answer).Task.WaitAsync(context.RequestAborted);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(
                new[] { TestScripts.Bar(symbol, new DateOnly(2024, 6, 3), 9.5) }), context.RequestAborted);
        });
    }

    public void Answer() => answer.TrySetResult();

    /// <summary>AKTools holds this symbol's calls until <see cref="Release"/>, whatever <see cref="Answer"/> did.</summary>
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

public sealed class RunDeadlineTests(RunDeadlineApp app) : IClassFixture<RunDeadlineApp>
{
    private static object PartedTask(int? maxRunMinutes, params string[] symbols) => new
    {
        name = "日线 " + symbols[0],
        script_id = "stock_zh_a_hist",
        schedule_type = "cron",
        schedule_expression = "0 3 1 1 *",
        parameters = new { symbol = new { values = symbols } },
        concurrency = 2,
        max_run_minutes = maxRunMinutes,
    };

    private async Task<(long Pending, long Running, long Cancelled)> PartsOfAsync(string executionId)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.QuerySingleAsync<(long, long, long)>("""
            SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED), CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED),
              CAST(COALESCE(SUM(status = 'cancelled'), 0) AS SIGNED)
            FROM execution_parts WHERE execution_id = @executionId
            """, new { executionId });
    }

    /// <summary>Minutes from the run's start to its deadline; null when it has none.</summary>
    private async Task<long?> DeadlineMinutesAsync(string executionId)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long?>(
            "SELECT TIMESTAMPDIFF(MINUTE, start_time, deadline_at) FROM executions WHERE execution_id = @executionId", new { executionId });
    }

    private async Task<DateTime?> HeartbeatAsync(string executionId)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<DateTime?>("SELECT heartbeat_at FROM executions WHERE execution_id = @executionId", new { executionId });
    }

    private static async Task<string> ExecuteAsync(HttpClient client, long taskId) =>
        (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

    private static async Task<JsonNode> ViewAsync(HttpClient client, string executionId) =>
        (await (await client.GetAsync($"/api/executions/{executionId}")).ExpectAsync(200, 0))["data"]!;

    private Task UntilAsync(IReadOnlyDictionary<string, string> expected, bool moveClock = true, int seconds = 60) =>
        app.UntilRunsAsync(expected, app.Clock!, moveClock, seconds);

    [Fact]
    public async Task A_parted_run_stops_as_timeout_at_its_tasks_max_run_minutes_and_the_default_covers_the_rest()
    {
        var admin = await app.AdminAsync();
        var settings = (await (await admin.GetAsync("/api/settings/")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(360, settings["default_max_run_minutes"]!.GetValue<int>());
        var (client, _, _) = await app.NewUserAsync();
        await (await client.PostAsJsonAsync("/api/tasks/", PartedTask(43_201, "600200"))).ExpectAsync(422, 3001);

        // Six parts, two at a time, held by AKTools: the run may take two minutes in all, whatever each part's timeout.
        var task = await client.CreateAsync(PartedTask(2, "600201", "600202", "600203", "600204", "600205", "600206"));
        Assert.Equal(2, task["max_run_minutes"]!.GetValue<int>());
        var run = await ExecuteAsync(client, task["id"]!.GetValue<long>());
        var counts = await TaskTestKit.EventuallyAsync(() => PartsOfAsync(run), c => c == (4, 2, 0), 60);
        Assert.Equal((4L, 2L, 0L), counts);
        // The deadline is in the run's row, from its start: every instance taking part stops at the same time.
        Assert.Equal((long?)2, await DeadlineMinutesAsync(run));

        // A minute on, it goes on (a beat after the clock moved finds it within its time); past two minutes it stops:
        // the held calls are given up, the waiting parts never start.
        app.Clock!.Advance(TimeSpan.FromMinutes(1));
        var beatAfter = app.Clock.GetUtcNow().UtcDateTime;
        var beaten = await TaskTestKit.EventuallyAsync(() => HeartbeatAsync(run), at => at >= beatAfter, 60);
        Assert.True(beaten >= beatAfter, "the run did not beat after the clock moved");
        Assert.Equal("running", (await (await client.GetAsync($"/api/executions/{run}")).ExpectAsync(200, 0))["data"]!["status"]!.GetValue<string>());
        app.Clock.Advance(TimeSpan.FromMinutes(1).Add(TimeSpan.FromSeconds(1)));
        var ended = await app.WaitForEndAsync(client, run, 60);
        Assert.Equal("timeout", ended["status"]!.GetValue<string>());
        Assert.Contains("max_run_minutes", ended["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        // The two that were running are cancelled with the four that never started.
        Assert.Equal((0L, 0L, 6L), await PartsOfAsync(run));

        // A task without its own limit takes default_max_run_minutes; 0 on the task means none; a single run has none.
        await (await admin.PutAsJsonAsync("/api/settings/", new { default_max_run_minutes = 45 })).ExpectAsync(200, 0);
        try
        {
            app.Answer();
            var byDefault = await client.CreateAsync(PartedTask(null, "600207", "600208"));
            Assert.Null(byDefault["max_run_minutes"]);
            var defaulted = await ExecuteAsync(client, byDefault["id"]!.GetValue<long>());
            Assert.Equal("completed", (await app.WaitForEndAsync(client, defaulted, 60))["status"]!.GetValue<string>());
            Assert.Equal((long?)45, await DeadlineMinutesAsync(defaulted));

            var unbounded = await client.CreateAsync(PartedTask(0, "600209", "600210"));
            var unboundedRun = await ExecuteAsync(client, unbounded["id"]!.GetValue<long>());
            Assert.Equal("completed", (await app.WaitForEndAsync(client, unboundedRun, 60))["status"]!.GetValue<string>());
            Assert.Null(await DeadlineMinutesAsync(unboundedRun));

            var single = await client.CreateAsync(TaskTestKit.Daily("600211", "cron", "0 3 1 1 *"));
            var singleRun = await ExecuteAsync(client, single["id"]!.GetValue<long>());
            Assert.Equal("completed", (await app.WaitForEndAsync(client, singleRun, 60))["status"]!.GetValue<string>());
            Assert.Null(await DeadlineMinutesAsync(singleRun));

            // An update changes the limit.
            var changed = (await (await client.PutAsJsonAsync($"/api/tasks/{byDefault["id"]!.GetValue<long>()}", new { max_run_minutes = 90 })).ExpectAsync(200, 0))["data"]!;
            Assert.Equal(90, changed["max_run_minutes"]!.GetValue<int>());
        }
        finally
        {
            await (await admin.PutAsJsonAsync("/api/settings/", new { default_max_run_minutes = 360 })).ExpectAsync(200, 0);
        }
    }

    [Fact]
    public async Task At_the_slot_limit_a_parted_run_past_its_max_run_minutes_ends_as_timeout_and_its_slot_goes_to_the_admins_waiting_run()
    {
        var admin = await app.AdminAsync();
        var settings = (await (await admin.GetAsync("/api/settings/")).ExpectAsync(200, 0))["data"]!;
        var (slots, percent) = (settings["max_concurrent_tasks"]!.GetValue<int>(), settings["user_max_slots_percent"]!.GetValue<int>());
        // Two slots; an ordinary user's manual runs may hold one of them.
        await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 2, user_max_slots_percent = 50 })).ExpectAsync(200, 0);
        var clock = app.Clock!;
        string[] alices = ["600221", "600222", "600223", "600224"];
        const string BobsFirst = "600225";
        const string BobsSecond = "600226";
        const string Admins = "600227";
        foreach (var symbol in alices.Append(BobsFirst).Append(BobsSecond).Append(Admins)) app.Hold(symbol);
        try
        {
            var (alice, _, _) = await app.NewUserAsync();
            var (bob, _, _) = await app.NewUserAsync();

            // Alice's parted run takes a slot: four parts, two held by AKTools and two waiting; it may take a minute in all.
            var aliceRun = await ExecuteAsync(alice, (await alice.CreateAsync(PartedTask(1, alices)))["id"]!.GetValue<long>());
            Assert.Equal((2L, 2L, 0L), await TaskTestKit.EventuallyAsync(() => PartsOfAsync(aliceRun), c => c == (2, 2, 0), 60));
            // Bob's run takes the other slot.
            var bobRun = await ExecuteAsync(bob, (await bob.CreateAsync(TaskTestKit.Daily(BobsFirst, "cron", "0 3 1 1 *")))["id"]!.GetValue<long>());
            await UntilAsync(new Dictionary<string, string> { [aliceRun] = "running", [bobRun] = "running" }, moveClock: false);

            // Every slot is taken: the admin's run waits, and so does Bob's second. The clock stands still meanwhile.
            var adminRun = await ExecuteAsync(admin, (await admin.CreateAsync(TaskTestKit.Daily(Admins, "cron", "0 3 1 1 *")))["id"]!.GetValue<long>());
            var bobSecondRun = await ExecuteAsync(bob, (await bob.CreateAsync(TaskTestKit.Daily(BobsSecond, "cron", "0 3 1 1 *")))["id"]!.GetValue<long>());
            await UntilAsync(new Dictionary<string, string> { [aliceRun] = "running", [bobRun] = "running", [adminRun] = "pending", [bobSecondRun] = "pending" },
                moveClock: false);
            var aliceView = await ViewAsync(alice, aliceRun);
            Assert.Equal(("running", 2, 2), (aliceView["status"]!.GetValue<string>(), aliceView["parts_running"]!.GetValue<int>(), aliceView["parts_waiting"]!.GetValue<int>()));
            Assert.Equal("pending", (await ViewAsync(admin, adminRun))["status"]!.GetValue<string>());
            Assert.Equal("pending", (await ViewAsync(bob, bobSecondRun))["status"]!.GetValue<string>());
            Assert.Equal((long?)1, await DeadlineMinutesAsync(aliceRun));
            Assert.Null(await DeadlineMinutesAsync(bobRun));

            // Past her minute, Alice's run stops as timeout: its held calls are given up, its waiting parts never start.
            clock.Advance(TimeSpan.FromMinutes(1).Add(TimeSpan.FromSeconds(1)));
            var ended = await app.WaitForEndAsync(alice, aliceRun, 60);
            Assert.Equal("timeout", ended["status"]!.GetValue<string>());
            Assert.Contains("max_run_minutes", ended["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal((4, 0), (ended["parts_total"]!.GetValue<int>(), ended["parts_done"]!.GetValue<int>()));
            Assert.Equal((0L, 0L, 4L), await PartsOfAsync(aliceRun));

            // Her slot is the admin's; Bob's first run goes on, untouched; his second still waits, his one slot held by his first.
            await UntilAsync(new Dictionary<string, string> { [adminRun] = "running", [bobRun] = "running", [bobSecondRun] = "pending" });
            Assert.Equal("running", (await ViewAsync(bob, bobRun))["status"]!.GetValue<string>());
            await using (var db = await app.OpenDatabaseAsync())
            {
                var (aliceEnd, adminStart) = await db.QuerySingleAsync<(DateTime, DateTime)>("""
                    SELECT (SELECT end_time FROM executions WHERE execution_id = @aliceRun), (SELECT start_time FROM executions WHERE execution_id = @adminRun)
                    """, new { aliceRun, adminRun });
                Assert.True(adminStart >= aliceEnd, $"the admin's run started at {adminStart:O}, before Alice's ended at {aliceEnd:O}");
            }

            // The admin's run completes. A slot is free now, and Bob's second run, asking again, is still refused: his
            // manual runs hold their share.
            app.Release(Admins);
            Assert.Equal("completed", (await app.WaitForEndAsync(admin, adminRun, 60))["status"]!.GetValue<string>());
            clock.Advance(TimeSpan.FromMilliseconds(250));
            await UntilAsync(new Dictionary<string, string> { [bobRun] = "running", [bobSecondRun] = "pending" });

            // Bob's first run completes, then his second takes a slot and completes; each wrote its row, Alice's run none.
            app.Release(BobsFirst);
            app.Release(BobsSecond);
            Assert.Equal("completed", (await app.WaitForEndAsync(bob, bobRun, 60))["status"]!.GetValue<string>());
            await UntilAsync(new Dictionary<string, string> { [bobSecondRun] = "completed" });
            await using (var db = await app.OpenDatabaseAsync())
            {
                string[] written = [BobsFirst, BobsSecond, Admins];
                Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_hist WHERE `股票代码` IN @written", new { written }));
                Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_hist WHERE `股票代码` IN @alices", new { alices }));
            }
        }
        finally
        {
            app.ReleaseAll();
            await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = slots, user_max_slots_percent = percent })).ExpectAsync(200, 0);
        }
    }
}
