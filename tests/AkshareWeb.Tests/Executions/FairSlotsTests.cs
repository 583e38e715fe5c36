using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Executions;

/// <summary>
/// Task runs under the documented quotas (user_max_task_runs 4, user_max_slots_percent 50) with AKTools held per
/// symbol, so runs stay running until the test lets each one finish; a held call is not cut short by AKTools' own
/// time-out.
/// </summary>
public sealed class FairSlotsApp : CollectingApp
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> gates = new(StringComparer.Ordinal);

    public FairSlotsApp()
    {
        Unset("Quotas:UserMaxTaskRuns");
        Unset("Quotas:UserMaxSlotsPercent");
        Unset("Quotas:UserMaxPartsWaiting");
        Set("AkTools:TimeoutSeconds", "300");
        // Parts start as fast as they are taken: what waits, waits for a worker, not for the site's rate.
        Set("SourceRates:Default", "0");
        Set("SourceRates:Families:eastmoney", "0");
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AkTools.Handle("stock_zh_a_hist", async context =>
        {
            var symbol = context.Request.Query["symbol"].ToString();
            await Gate(symbol).Task.WaitAsync(context.RequestAborted);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new[] { TestScripts.Bar(symbol, new DateOnly(2024, 6, 3), 9.5) }), context.RequestAborted);
        });
    }

    private TaskCompletionSource Gate(string symbol) => gates.GetOrAdd(symbol, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>AKTools answers the runs of this symbol (those waiting and those to come).</summary>
    public void Release(string symbol) => Gate(symbol).TrySetResult();

    /// <summary>Every held call goes: a test that failed half-way leaves no run holding a slot for the next one.</summary>
    public void ReleaseAll()
    {
        foreach (var gate in gates.Values) gate.TrySetResult();
    }
}

public sealed class FairSlotsTests(FairSlotsApp app) : IClassFixture<FairSlotsApp>
{
    private static string Symbol() => Random.Shared.Next(100_000, 999_999).ToString(CultureInfo.InvariantCulture);

    private static async Task<(long Id, string Symbol)> TaskAsync(HttpClient client, string type = "cron", string expression = "0 3 1 1 *")
    {
        var symbol = Symbol();
        return ((await client.CreateAsync(TaskTestKit.Daily(symbol, type, expression)))["id"]!.GetValue<long>(), symbol);
    }

    private static Task<HttpResponseMessage> ExecuteAsync(HttpClient client, long taskId) => client.PostAsync($"/api/tasks/{taskId}/execute", null);

    private static async Task<string> StartedAsync(HttpClient client, long taskId) =>
        (await (await ExecuteAsync(client, taskId)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

    private Task<Dictionary<string, (string Status, DateTime? Asked)>> SeenAsync(IEnumerable<string> executionIds) => app.RunStatesAsync(executionIds);

    private Task UntilAsync(IReadOnlyDictionary<string, string> expected, int seconds = 60) => app.UntilRunsAsync(expected, seconds: seconds);

    /// <summary>Waits until the pending run has asked for a slot again, after <paramref name="after"/>: refused once more
    /// with the state the test has set up.</summary>
    private async Task AskedAgainAsync(string executionId)
    {
        var first = (await SeenAsync([executionId]))[executionId].Asked;
        var again = await TaskTestKit.EventuallyAsync(async () => (await SeenAsync([executionId]))[executionId], s => s.Asked > first, 60);
        Assert.True(again.Asked > first, $"{executionId} did not ask for a slot again");
        Assert.Equal("pending", again.Status);
    }

    private async Task<long> RunningOfAsync(string username)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM executions e JOIN users u ON u.id = e.user_id WHERE u.username = @username AND e.task_id IS NOT NULL AND e.status = 'running'", new { username });
    }

    private static async Task SettingsAsync(HttpClient admin, object settings) =>
        await (await admin.PutAsJsonAsync("/api/settings/", settings)).ExpectAsync(200, 0);

    private async Task ResetAsync(HttpClient admin)
    {
        app.ReleaseAll();
        await SettingsAsync(admin, new { max_concurrent_tasks = 5, user_max_task_runs = 4, user_max_slots_percent = 50, user_max_parts_waiting = 20_000 });
    }

    /// <summary>A download of daily bars over these symbols: a parted run, one part per symbol.</summary>
    private async Task<string> DownloadStartedAsync(HttpClient client, params string[] symbols)
    {
        long id;
        await using (var db = await app.OpenDatabaseAsync())
        {
            id = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_hist'");
        }

        return (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = id, parameters = new { symbol = new { values = symbols } } }))
            .ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
    }

    private async Task<(long Pending, long Running)> PartsOfAsync(string executionId)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.QuerySingleAsync<(long, long)>(
            "SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED), CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED) FROM execution_parts WHERE execution_id = @executionId",
            new { executionId });
    }

    private static void AssertNamesQuota(JsonNode body, string quota, int limit)
    {
        Assert.Contains(quota, body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(quota, body["detail"]!["quota"]!.GetValue<string>());
        Assert.Equal(limit, body["detail"]!["limit"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_second_run_of_a_task_is_409_and_a_users_task_runs_count_against_user_max_task_runs()
    {
        var admin = await app.AdminAsync();
        var settings = (await (await admin.GetAsync("/api/settings/")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(4, settings["user_max_task_runs"]!.GetValue<int>());
        Assert.Equal(50, settings["user_max_slots_percent"]!.GetValue<int>());
        await (await admin.PutAsJsonAsync("/api/settings/", new { user_max_slots_percent = 0 })).ExpectAsync(422, 3001);
        await SettingsAsync(admin, new { max_concurrent_tasks = 4, user_max_task_runs = 2, user_max_slots_percent = 100 });
        try
        {
            var (alice, _, _) = await app.NewUserAsync();
            var (bob, _, _) = await app.NewUserAsync();
            var first = await TaskAsync(alice);
            var second = await TaskAsync(alice);
            var third = await TaskAsync(alice);

            // Eight manual runs of one task at once: one run; the others are told why not.
            var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ExecuteAsync(alice, first.Id)));
            Assert.Equal(1, answers.Count(a => (int)a.StatusCode == 200));
            foreach (var refused in answers.Where(a => (int)a.StatusCode != 200))
            {
                var body = await refused.ExpectAsync(409, -1);
                Assert.Contains("already has a run", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
            }

            var firstRun = (await answers.Single(a => (int)a.StatusCode == 200).ReadEnvelopeAsync())["data"]!["execution_id"]!.GetValue<string>();
            await UntilAsync(new Dictionary<string, string> { [firstRun] = "running" });
            var secondRun = await StartedAsync(alice, second.Id);

            // Two of her task runs are open: a third is over user_max_task_runs; another user and the admin are not held by it.
            AssertNamesQuota(await (await ExecuteAsync(alice, third.Id)).ExpectAsync(429, -1), "user_max_task_runs", 2);
            var bobs = await TaskAsync(bob);
            var bobRun = await StartedAsync(bob, bobs.Id);
            var adminRun = await StartedAsync(admin, third.Id);
            await UntilAsync(new Dictionary<string, string> { [secondRun] = "running", [bobRun] = "running", [adminRun] = "running" });

            foreach (var symbol in new[] { first.Symbol, second.Symbol, bobs.Symbol, third.Symbol }) app.Release(symbol);
            await UntilAsync(new Dictionary<string, string> { [firstRun] = "completed", [secondRun] = "completed", [bobRun] = "completed", [adminRun] = "completed" });

            // Retries of a finished run meet the same rules: four at once make one run.
            var again = await TaskAsync(alice);
            var cancelled = await StartedAsync(alice, again.Id);
            await UntilAsync(new Dictionary<string, string> { [cancelled] = "running" });
            await (await alice.PostAsync($"/api/executions/{cancelled}/cancel", null)).ExpectAsync(200, 0);
            await UntilAsync(new Dictionary<string, string> { [cancelled] = "cancelled" });
            var retries = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => alice.PostAsync($"/api/executions/{cancelled}/retry", null)));
            Assert.Equal(1, retries.Count(r => (int)r.StatusCode == 200));
            foreach (var refused in retries.Where(r => (int)r.StatusCode != 200)) await refused.ExpectAsync(409, -1);
            var retryRun = (await retries.Single(r => (int)r.StatusCode == 200).ReadEnvelopeAsync())["data"]!["execution_id"]!.GetValue<string>();
            app.Release(again.Symbol);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, retryRun, 60))["status"]!.GetValue<string>());

            // A scheduled run counts too: with it and one manual run open, her next manual run is over the quota.
            var held = await TaskAsync(alice);
            var heldRun = await StartedAsync(alice, held.Id);
            var scheduled = await TaskAsync(alice, "once", DateTime.UtcNow.AddSeconds(2).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            var scheduledRun = await TaskTestKit.EventuallyAsync(
                async () => (await app.ExecutionsOfAsync(scheduled.Id)) is [var run, ..] ? run.ExecutionId : null, id => id is not null, 60);
            Assert.NotNull(scheduledRun);
            await UntilAsync(new Dictionary<string, string> { [scheduledRun!] = "running", [heldRun] = "running" });
            AssertNamesQuota(await (await ExecuteAsync(alice, first.Id)).ExpectAsync(429, -1), "user_max_task_runs", 2);
            // ... and a manual run of a task whose scheduled run is open is 409, the admin's too.
            await (await admin.PostAsync($"/api/tasks/{scheduled.Id}/execute", null)).ExpectAsync(409, -1);

            app.Release(held.Symbol);
            app.Release(scheduled.Symbol);
            await UntilAsync(new Dictionary<string, string> { [scheduledRun!] = "completed", [heldRun] = "completed" });
            var last = await StartedAsync(alice, first.Id);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, last, 60))["status"]!.GetValue<string>());
        }
        finally
        {
            await ResetAsync(admin);
        }
    }

    [Fact]
    public async Task Slots_are_shared_between_users_across_instances_and_scheduled_and_admin_runs_go_first()
    {
        var admin = await app.AdminAsync();
        // Four slots; an ordinary user's manual runs may hold three of them.
        await SettingsAsync(admin, new { max_concurrent_tasks = 4, user_max_task_runs = 10, user_max_slots_percent = 75 });
        await using var second = await app.SecondInstanceAsync();
        try
        {
            var (alice, aliceName, _) = await app.NewUserAsync();
            // Bob and Carol use the other instance: the two decide from the same rows.
            var (_, bobName, bobTokens) = await app.NewUserAsync();
            var bob = second.CreateClient().WithToken(bobTokens.AccessToken);
            var (_, _, carolTokens) = await app.NewUserAsync();
            var carol = second.CreateClient().WithToken(carolTokens.AccessToken);

            var aliceTasks = new List<(long Id, string Symbol)>();
            for (var i = 0; i < 4; i++) aliceTasks.Add(await TaskAsync(alice));
            var aliceRuns = new List<string>();
            foreach (var task in aliceTasks) aliceRuns.Add(await StartedAsync(alice, task.Id));

            // Alone, she holds her three slots, whichever three her jobs reached first; her fourth run waits although
            // a slot is free, and keeps being refused.
            var running = await TaskTestKit.EventuallyAsync(async () => (await SeenAsync(aliceRuns)).Where(r => r.Value.Status == "running").Select(r => r.Key).ToList(),
                r => r.Count == 3, 60);
            Assert.Equal(3, running.Count);
            var waiting = aliceRuns.Single(r => !running.Contains(r));
            var symbolOf = aliceRuns.Zip(aliceTasks).ToDictionary(p => p.First, p => p.Second.Symbol, StringComparer.Ordinal);
            await UntilAsync(new Dictionary<string, string> { [waiting] = "pending" });
            await AskedAgainAsync(waiting);
            Assert.Equal(3, await RunningOfAsync(aliceName));

            // Bob's run starts at once, in the slot she could not take.
            var bobFirst = await TaskAsync(bob);
            var bobFirstRun = await StartedAsync(bob, bobFirst.Id);
            await UntilAsync(new Dictionary<string, string> { [bobFirstRun] = "running", [waiting] = "pending" });

            // Every slot is taken; Bob's second run waits with her fourth. One of hers ends: Bob runs fewer, the slot is his.
            var bobSecond = await TaskAsync(bob);
            var bobSecondRun = await StartedAsync(bob, bobSecond.Id);
            await UntilAsync(new Dictionary<string, string> { [bobSecondRun] = "pending", [waiting] = "pending" });
            app.Release(symbolOf[running[0]]);
            await UntilAsync(new Dictionary<string, string> { [running[0]] = "completed", [bobSecondRun] = "running", [waiting] = "pending" });
            Assert.Equal(2, await RunningOfAsync(aliceName));
            Assert.Equal(2, await RunningOfAsync(bobName));

            // An admin's run waits with her fourth: when Bob's first ends the slot is the admin's, though she waited longer.
            var adminTask = await TaskAsync(admin);
            var adminRun = await StartedAsync(admin, adminTask.Id);
            await UntilAsync(new Dictionary<string, string> { [adminRun] = "pending", [waiting] = "pending" });
            app.Release(bobFirst.Symbol);
            await UntilAsync(new Dictionary<string, string> { [bobFirstRun] = "completed", [adminRun] = "running", [waiting] = "pending" });

            // So is a scheduled run's (Carol's task, fired by its schedule) when the admin's ends.
            var carols = await TaskAsync(carol, "once", DateTime.UtcNow.AddSeconds(2).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            var scheduledRun = await TaskTestKit.EventuallyAsync(
                async () => (await app.ExecutionsOfAsync(carols.Id)) is [var run, ..] ? run.ExecutionId : null, id => id is not null, 60);
            Assert.NotNull(scheduledRun);
            await UntilAsync(new Dictionary<string, string> { [scheduledRun!] = "pending", [waiting] = "pending" });
            app.Release(adminTask.Symbol);
            await UntilAsync(new Dictionary<string, string> { [adminRun] = "completed", [scheduledRun!] = "running", [waiting] = "pending" });

            // Then her fourth runs, and everything ends.
            foreach (var symbol in aliceTasks.Select(t => t.Symbol).Append(bobSecond.Symbol).Append(carols.Symbol)) app.Release(symbol);
            foreach (var run in aliceRuns.Append(bobSecondRun).Append(scheduledRun!))
            {
                Assert.Equal("completed", (await app.WaitForEndAsync(admin, run, 60))["status"]!.GetValue<string>());
            }
        }
        finally
        {
            await ResetAsync(admin);
        }
    }

    [Fact]
    public async Task A_users_parted_runs_fail_at_their_start_beyond_user_max_parts_waiting_and_hold_no_one_else()
    {
        var admin = await app.AdminAsync();
        var settings = (await (await admin.GetAsync("/api/settings/")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(20_000, settings["user_max_parts_waiting"]!.GetValue<int>());
        await SettingsAsync(admin, new { user_max_parts_waiting = 10 });
        try
        {
            var (alice, _, _) = await app.NewUserAsync();
            var (bob, _, _) = await app.NewUserAsync();

            // Her first download has ten parts, as many as the cap: four run (a download's concurrency), held by AKTools,
            // and six wait.
            var held = Enumerable.Range(0, 10).Select(_ => Symbol()).ToArray();
            var first = await DownloadStartedAsync(alice, held);
            var counts = await TaskTestKit.EventuallyAsync(() => PartsOfAsync(first), c => c == (6, 4), 60);
            Assert.Equal((6L, 4L), counts);

            // Five more parts would make eleven waiting: that run fails at its start, says why, and writes no parts.
            var over = await DownloadStartedAsync(alice, Enumerable.Range(0, 5).Select(_ => Symbol()).ToArray());
            var refused = await app.WaitForEndAsync(alice, over, 60);
            Assert.Equal("failed", refused["status"]!.GetValue<string>());
            Assert.Contains("user_max_parts_waiting", refused["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal((0L, 0L), await PartsOfAsync(over));

            // Bob's parts and the admin's are theirs: neither is held by hers.
            var bobs = new[] { Symbol(), Symbol(), Symbol() };
            // The admin has no quota: twelve parts pass the cap.
            var admins = Enumerable.Range(0, 12).Select(_ => Symbol()).ToArray();
            foreach (var symbol in bobs.Concat(admins)) app.Release(symbol);
            var bobRun = await DownloadStartedAsync(bob, bobs);
            var adminRun = await DownloadStartedAsync(admin, admins);
            Assert.Equal("completed", (await app.WaitForEndAsync(bob, bobRun, 60))["status"]!.GetValue<string>());
            Assert.Equal("completed", (await app.WaitForEndAsync(admin, adminRun, 60))["status"]!.GetValue<string>());

            // Four more of hers make ten waiting, within the cap: that run goes.
            var four = Enumerable.Range(0, 4).Select(_ => Symbol()).ToArray();
            foreach (var symbol in four) app.Release(symbol);
            var within = await DownloadStartedAsync(alice, four);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, within, 60))["status"]!.GetValue<string>());

            foreach (var symbol in held) app.Release(symbol);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, first, 60))["status"]!.GetValue<string>());
        }
        finally
        {
            await ResetAsync(admin);
        }
    }

    private async Task<string> QuotaLockOfAsync(string username)
    {
        await using var db = await app.OpenDatabaseAsync();
        var id = await db.ExecuteScalarAsync<long>("SELECT id FROM users WHERE username = @username", new { username });
        return AkshareWeb.Features.Common.ServerLockName.For(db.Database, $"quota:{id}");
    }

    private async Task CancelledAsync(HttpClient client, string executionId)
    {
        await (await client.PostAsync($"/api/executions/{executionId}/cancel", null)).ExpectAsync(200, 0);
        Assert.Equal("cancelled", (await app.WaitForEndAsync(client, executionId, 60))["status"]!.GetValue<string>());
    }

    private static async Task<string> RetriedAsync(HttpClient client, string executionId) =>
        (await (await client.PostAsync($"/api/executions/{executionId}/retry", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

    /// <summary>A task of daily bars over these symbols: a parted run, one part per symbol.</summary>
    private static async Task<long> PartedTaskAsync(HttpClient client, string[] symbols) =>
        (await client.CreateAsync(new
        {
            name = "日线 " + symbols[0],
            script_id = "stock_zh_a_hist",
            schedule_type = "cron",
            schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = new { values = symbols } },
            retry_on_failure = false,
            max_retries = 0,
        }))["id"]!.GetValue<long>();

    private async Task<Dictionary<string, (string Status, long Parts)>> PartRowsAsync(params string[] executionIds)
    {
        await using var db = await app.OpenDatabaseAsync();
        return (await db.QueryAsync<(string Id, string Status, long Parts)>("""
                SELECT e.execution_id, e.status, (SELECT COUNT(*) FROM execution_parts p WHERE p.execution_id = e.execution_id)
                FROM executions e WHERE e.execution_id IN @executionIds
                """, new { executionIds }))
            .ToDictionary(r => r.Id, r => (r.Status, r.Parts), StringComparer.Ordinal);
    }

    [Fact]
    public async Task Two_parted_runs_of_one_user_starting_at_once_cannot_both_pass_user_max_parts_waiting()
    {
        var admin = await app.AdminAsync();
        await SettingsAsync(admin, new { user_max_parts_waiting = 10 });
        try
        {
            var (alice, aliceName, _) = await app.NewUserAsync();
            var (bob, _, _) = await app.NewUserAsync();
            var aliceLock = await QuotaLockOfAsync(aliceName);
            var firstSymbols = Enumerable.Range(0, 6).Select(_ => Symbol()).ToArray();
            var secondSymbols = Enumerable.Range(0, 6).Select(_ => Symbol()).ToArray();
            var firstTask = await PartedTaskAsync(alice, firstSymbols);
            var secondTask = await PartedTaskAsync(alice, secondSymbols);
            string first, second;

            // The race made certain. Her two runs are started while no task run can be claimed (the test holds the claims'
            // turn), and no part can be written until the test says so (a gap lock past the table's last part), while
            // counting parts still can: both runs reach their start, each at its write or waiting for her quota lock,
            // before either writes.
            await using (var blocker = await app.OpenDatabaseAsync())
            {
                var claims = AkshareWeb.Features.Common.ServerLockName.For(blocker.Database, "slot-claims");
                Assert.Equal(1, await blocker.ExecuteScalarAsync<int>("SELECT GET_LOCK(@claims, 0)", new { claims }));
                await using var gap = await blocker.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
                var last = await blocker.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(id), 0) FROM execution_parts", transaction: gap);
                await blocker.QueryAsync<long>("SELECT id FROM execution_parts WHERE id > @last FOR UPDATE", new { last }, gap);
                first = await StartedAsync(alice, firstTask);
                second = await StartedAsync(alice, secondTask);
                await blocker.ExecuteAsync("DO RELEASE_LOCK(@claims)", new { claims }, gap);
                await using (var watcher = await app.OpenDatabaseAsync())
                {
                    var stopped = await TaskTestKit.EventuallyAsync(() => watcher.ExecuteScalarAsync<long>("""
                        SELECT COUNT(*) FROM information_schema.PROCESSLIST
                        WHERE ID <> CONNECTION_ID() AND (INFO LIKE 'INSERT INTO execution_parts%' OR INFO LIKE CONCAT('%GET_LOCK(%', @aliceLock, '%'))
                        """, new { aliceLock }), n => n == 2, 60);
                    Assert.Equal(2, stopped);
                }

                await gap.CommitAsync();
            }

            // Six and six would make twelve waiting: one run has its six, the other fails at its start and writes none.
            var ends = await TaskTestKit.EventuallyAsync(() => PartRowsAsync(first, second), s => s.Values.All(v => v.Status == "failed" || v.Parts == 6), 60);
            Assert.Equal(1, ends.Values.Count(v => v.Status == "failed"));
            var refused = ends.Single(e => e.Value.Status == "failed").Key;
            var passed = refused == first ? second : first;
            Assert.Equal(("running", 6L), ends[passed]);
            var body = await app.WaitForEndAsync(alice, refused, 60);
            Assert.Contains("user_max_parts_waiting", body["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal((0L, 0L), await PartsOfAsync(refused));

            // Bob's parts and the admin's are not counted with hers, nor held by her lock.
            var bobs = Enumerable.Range(0, 6).Select(_ => Symbol()).ToArray();
            var admins = Enumerable.Range(0, 12).Select(_ => Symbol()).ToArray();
            foreach (var symbol in bobs.Concat(admins)) app.Release(symbol);
            var bobRun = await DownloadStartedAsync(bob, bobs);
            var adminRun = await DownloadStartedAsync(admin, admins);
            Assert.Equal("completed", (await app.WaitForEndAsync(bob, bobRun, 60))["status"]!.GetValue<string>());
            Assert.Equal("completed", (await app.WaitForEndAsync(admin, adminRun, 60))["status"]!.GetValue<string>());

            foreach (var symbol in firstSymbols.Concat(secondSymbols)) app.Release(symbol);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, passed, 60))["status"]!.GetValue<string>());
        }
        finally
        {
            await ResetAsync(admin);
        }
    }

    [Fact]
    public async Task A_retry_counts_the_parts_it_copies_against_user_max_parts_waiting()
    {
        var admin = await app.AdminAsync();
        await SettingsAsync(admin, new { user_max_parts_waiting = 10 });
        try
        {
            var (alice, _, _) = await app.NewUserAsync();
            var (bob, _, _) = await app.NewUserAsync();

            // Her six-part download is cancelled while its parts are held: a retry copies all six.
            var retried = Enumerable.Range(0, 6).Select(_ => Symbol()).ToArray();
            var cancelled = await DownloadStartedAsync(alice, retried);
            await TaskTestKit.EventuallyAsync(() => PartsOfAsync(cancelled), c => c == (2, 4), 60);
            await CancelledAsync(alice, cancelled);

            // Another of hers has ten parts, four running and six waiting: six copied more would make twelve.
            var held = Enumerable.Range(0, 10).Select(_ => Symbol()).ToArray();
            var running = await DownloadStartedAsync(alice, held);
            Assert.Equal((6L, 4L), await TaskTestKit.EventuallyAsync(() => PartsOfAsync(running), c => c == (6, 4), 60));
            var over = await RetriedAsync(alice, cancelled);
            var refused = await app.WaitForEndAsync(alice, over, 60);
            Assert.Equal("failed", refused["status"]!.GetValue<string>());
            Assert.Contains("this run's 6 parts", refused["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Contains("user_max_parts_waiting", refused["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
            // Its copies ran nothing and wait for nothing.
            Assert.Equal((0L, 0L), await PartsOfAsync(over));

            // Bob's retry of six copied parts and the admin's of twelve are theirs to run meanwhile.
            var bobs = Enumerable.Range(0, 6).Select(_ => Symbol()).ToArray();
            var bobCancelled = await DownloadStartedAsync(bob, bobs);
            await TaskTestKit.EventuallyAsync(() => PartsOfAsync(bobCancelled), c => c == (2, 4), 60);
            await CancelledAsync(bob, bobCancelled);
            var admins = Enumerable.Range(0, 12).Select(_ => Symbol()).ToArray();
            var adminCancelled = await DownloadStartedAsync(admin, admins);
            await TaskTestKit.EventuallyAsync(() => PartsOfAsync(adminCancelled), c => c == (8, 4), 60);
            await CancelledAsync(admin, adminCancelled);
            foreach (var symbol in bobs.Concat(admins)) app.Release(symbol);
            var bobRetry = await RetriedAsync(bob, bobCancelled);
            var adminRetry = await RetriedAsync(admin, adminCancelled);
            Assert.Equal("completed", (await app.WaitForEndAsync(bob, bobRetry, 60))["status"]!.GetValue<string>());
            Assert.Equal("completed", (await app.WaitForEndAsync(admin, adminRetry, 60))["status"]!.GetValue<string>());

            // Once her other run has ended, a retry of the refused one copies its six again, and they run.
            foreach (var symbol in held.Concat(retried)) app.Release(symbol);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, running, 60))["status"]!.GetValue<string>());
            var again = await RetriedAsync(alice, over);
            Assert.Equal("completed", (await app.WaitForEndAsync(alice, again, 60))["status"]!.GetValue<string>());
            Assert.Equal((0L, 0L), await PartsOfAsync(again));
        }
        finally
        {
            await ResetAsync(admin);
        }
    }
}
