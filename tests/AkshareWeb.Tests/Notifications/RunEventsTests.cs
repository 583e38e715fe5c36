using System.Security.Cryptography;
using System.Text;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Parts;
using AkshareWeb.Tests.Tasks;
using Dapper;

namespace AkshareWeb.Tests.Notifications;

/// <summary>
/// The events raised by real runs against the fake AKTools, as the channels' receiver gets them: a failed download,
/// a task failing twice in a row (Notifications:TaskFailingAfter = 2), a run in parts with failed parts, and runs the
/// watchdog failed after their instance died. Each run and event makes one message per channel that hears it.
/// </summary>
public sealed class RunEventsTests(NotifyingRunsApp app, NotificationReceiver receiver) : IClassFixture<NotifyingRunsApp>, IClassFixture<NotificationReceiver>
{
    private string Url(string path) => receiver.BaseUrl + path;

    private static string ExecutionOf(ReceivedRequest request) => request.Json["facts"]!["execution_id"]!.GetValue<string>();

    /// <summary>After the messages expected have come, a moment for any that should not.</summary>
    private static Task QuietAsync() => Task.Delay(1500);

    [Fact]
    public async Task A_failed_download_tells_its_user_and_the_admins_channels_that_hear_everything()
    {
        var (alice, _, _) = await app.NewUserAsync();
        var (bob, _, _) = await app.NewUserAsync();
        var admin = await app.AdminAsync();
        await alice.WebhookAsync(Url("/dl/alice"), ["run_failed"], secret: "alice-secret");
        await alice.WebhookAsync(Url("/dl/alice-tasks-only"), ["task_failing"]);
        await bob.WebhookAsync(Url("/dl/bob"), ["run_failed"]);
        await admin.WebhookAsync(Url("/dl/admin-all"), ["run_failed"], scope: "all");
        await admin.WebhookAsync(Url("/dl/admin-mine"), ["run_failed"]);
        app.AkTools.Fails("macro_cnbs");

        var run = await app.DownloadAsync("macro_cnbs", client: alice);
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var executionId = run["execution_id"]!.GetValue<string>();

        var told = Assert.Single(await receiver.WaitForAsync("/dl/alice"));
        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("alice-secret"), told.Body)), told.Headers["X-AkshareWeb-Signature"]);
        var body = told.Json;
        Assert.Equal("run_failed", body["event"]!.GetValue<string>());
        Assert.Equal(executionId, body["facts"]!["execution_id"]!.GetValue<string>());
        Assert.Equal("download of macro_cnbs failed", body["title"]!.GetValue<string>());
        Assert.Equal(run["error_message"]!.GetValue<string>(), body["lines"]![0]!.GetValue<string>());
        Assert.Equal(executionId, ExecutionOf(Assert.Single(await receiver.WaitForAsync("/dl/admin-all"))));

        await QuietAsync();
        Assert.Single(receiver.Received, r => r.Path == "/dl/alice");
        Assert.DoesNotContain(receiver.Received, r => r.Path is "/dl/bob" or "/dl/admin-mine" or "/dl/alice-tasks-only");
        var delivery = Assert.Single(await alice.DeliveriesAsync("&event=run_failed"))!;
        Assert.Equal("sent", delivery["status"]!.GetValue<string>());
        Assert.Equal(1, delivery["attempts"]!.GetValue<int>());
        Assert.Empty(await bob.DeliveriesAsync());
    }

    [Fact]
    public async Task A_receiver_that_hangs_does_not_hold_up_the_run()
    {
        var (client, _, _) = await app.NewUserAsync();
        var gate = new TaskCompletionSource();
        var slow = await NotificationReceiver.StartAsync();
        await using var _ = slow;
        slow.Answer(async (context, _) =>
        {
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await NotificationReceiver.WriteAsync(context, 200, "{}");
        });
        await client.WebhookAsync(slow.BaseUrl + "/hangs", ["run_failed"]);
        app.AkTools.Fails("hostile_fn");

        // The run ends while its message is stuck at the receiver: the delivery is on its way, the run is done.
        var run = await app.DownloadAsync("hostile_fn", new { level = "1" }, client: client);
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        await slow.WaitForAsync("/hangs");
        Assert.Equal("sending", (await client.DeliveriesAsync())[0]!["status"]!.GetValue<string>());
        gate.SetResult();
        var sent = await TaskTestKit.EventuallyAsync(() => client.DeliveriesAsync(), d => d[0]!["status"]!.GetValue<string>() == "sent", 20);
        Assert.Equal("sent", sent[0]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_task_failing_twice_in_a_row_is_told_once_and_a_retried_run_once()
    {
        var (client, _, _) = await app.NewUserAsync();
        await client.WebhookAsync(Url("/task/failing"), ["task_failing"]);
        await client.WebhookAsync(Url("/task/runs"), ["run_failed"]);
        app.AkTools.Fails("stock_zh_a_hist");
        var taskId = (await client.CreateAsync(new
        {
            name = "日线 880001", script_id = "stock_zh_a_hist", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = "880001" }, retry_on_failure = false, max_retries = 0,
        }))["id"]!.GetValue<long>();

        var runs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var run = await app.WaitForEndAsync(client, await PartsApp.ExecuteAsync(client, taskId));
            Assert.Equal("failed", run["status"]!.GetValue<string>());
            runs.Add(run["execution_id"]!.GetValue<string>());
            await receiver.WaitForAsync("/task/runs", i + 1);
        }

        var failing = Assert.Single(await receiver.WaitForAsync("/task/failing"));
        Assert.Equal("task 日线 880001 failed 2 times in a row", failing.Json["title"]!.GetValue<string>());
        Assert.Equal(runs[1], ExecutionOf(failing));
        Assert.Equal(2, failing.Json["facts"]!["failures_in_a_row"]!.GetValue<int>());
        await QuietAsync();
        Assert.Single(receiver.Received, r => r.Path == "/task/failing");
        Assert.Equal(runs.Order(), receiver.Received.Where(r => r.Path == "/task/runs").Select(ExecutionOf).Order());

        // A run its task retries is told by its retry's end only: one message for the run and its retry.
        await client.WebhookAsync(Url("/task/retried"), ["run_failed"]);
        var retried = (await client.CreateAsync(new
        {
            name = "日线 880002", script_id = "stock_zh_a_hist", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = "880002" }, retry_on_failure = true, max_retries = 1,
        }))["id"]!.GetValue<long>();
        await PartsApp.ExecuteAsync(client, retried);
        var chain = await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(retried), r => r.Count == 2 && r.All(x => x.Status == "failed"));
        var told = Assert.Single(await receiver.WaitForAsync("/task/retried"));
        Assert.Equal(chain[1].ExecutionId, ExecutionOf(told));
        Assert.Contains("after 1 retries", told.Json["lines"]!.AsArray().Select(l => l!.GetValue<string>()).Last(), StringComparison.Ordinal);
        await QuietAsync();
        Assert.Single(receiver.Received, r => r.Path == "/task/retried");
    }

    [Fact]
    public async Task A_run_in_parts_with_failed_parts_is_one_message_saying_how_many_of_how_many()
    {
        var (client, _, _) = await app.NewUserAsync();
        await client.WebhookAsync(Url("/parts/runs"), ["run_failed"]);
        app.ServeWindowBars("fanout_bars_em", failing: ["900002", "900004", "900005"]);
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em",
            new { symbol = new { values = new[] { "900001", "900002", "900003", "900004", "900005", "900006" } } }, concurrency: 3);
        var run = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, taskId));
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal(3, run["parts_failed"]!.GetValue<int>());

        var told = Assert.Single(await receiver.WaitForAsync("/parts/runs"));
        var body = told.Json;
        Assert.Equal("task 全市场 fanout_bars_em: 3 of 6 parts failed", body["title"]!.GetValue<string>());
        var lines = body["lines"]!.AsArray().Select(l => l!.GetValue<string>()).ToList();
        Assert.StartsWith("3 of 6 parts failed after their retries", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("symbol=900002", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("symbol=900004", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("symbol=900005", lines[3], StringComparison.Ordinal);
        Assert.Equal(6, body["facts"]!["parts_total"]!.GetValue<int>());
        await QuietAsync();
        Assert.Single(receiver.Received, r => r.Path == "/parts/runs");
    }

    [Fact]
    public async Task Runs_failed_by_the_watchdog_after_their_instance_died_are_told_to_their_owner_and_the_admins()
    {
        var (client, _, _) = await app.NewUserAsync();
        var admin = await app.AdminAsync();
        await client.WebhookAsync(Url("/lost/owner"), ["instance_lost"]);
        await client.WebhookAsync(Url("/lost/owner-runs"), ["run_failed"]);
        await admin.WebhookAsync(Url("/lost/admins"), ["instance_lost"], scope: "all");
        app.ServeBars();
        var taskId = (await client.CreateAsync(TaskTestKit.Daily("770001", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var executionId = (await app.WaitForEndAsync(client, await PartsApp.ExecuteAsync(client, taskId)))["execution_id"]!.GetValue<string>();
        // What a killed process leaves: its run still 'running', its heartbeat stopped an hour ago, its instance unknown.
        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("""
                UPDATE executions SET status = 'running', end_time = NULL, worker = 'killed-host:4242:dead', heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR
                WHERE execution_id = @executionId
                """, new { executionId });
        }

        var owner = Assert.Single(await receiver.WaitForAsync("/lost/owner"));
        Assert.Equal("instance killed-host:4242:dead lost: 1 of your runs failed", owner.Json["title"]!.GetValue<string>());
        Assert.Contains(owner.Json["lines"]!.AsArray(), l => l!.GetValue<string>().StartsWith(executionId + ": task 日线 770001", StringComparison.Ordinal));
        var admins = (await receiver.WaitForAsync("/lost/admins")).Single(r => r.Json["facts"]!["execution_ids"]!.AsArray().Any(id => id!.GetValue<string>() == executionId));
        Assert.Equal("instance killed-host:4242:dead lost: 1 runs failed", admins.Json["title"]!.GetValue<string>());
        await QuietAsync();
        Assert.DoesNotContain(receiver.Received, r => r.Path == "/lost/owner-runs");
        var run = (await (await client.GetAsync($"/api/executions/{executionId}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("failed", run["status"]!.GetValue<string>());
    }
}
