using System.Net.Http.Json;
using AkshareWeb.Features.Executions;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Executions;

public sealed class ExecutionsTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private async Task<(HttpClient Client, long TaskId)> TaskAsync(object? body = null)
    {
        var (client, _, _) = await app.NewUserAsync();
        var task = await client.CreateAsync(body ?? TaskTestKit.Daily("000001", "cron", "0 3 1 1 *"));
        return (client, task["id"]!.GetValue<long>());
    }

    private static async Task<string> ExecuteAsync(HttpClient client, long taskId) =>
        (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

    [Fact]
    public async Task A_running_execution_is_cancelled_within_two_seconds()
    {
        app.ServeSlowBars(rows: 200, pauseEvery: 5, pauseMs: 500);
        var (client, taskId) = await TaskAsync();
        var id = await ExecuteAsync(client, taskId);
        await TaskTestKit.EventuallyAsync(async () => (await (await client.GetAsync($"/api/executions/{id}")).ReadEnvelopeAsync())["data"]!["status"]!.GetValue<string>(), s => s == "running");

        var asked = DateTime.UtcNow;
        await (await client.PostAsync($"/api/executions/{id}/cancel", null)).ExpectAsync(200, 0);
        var run = await app.WaitForEndAsync(client, id, 10);
        Assert.Equal("cancelled", run["status"]!.GetValue<string>());
        Assert.True(run["end_time"]!.GetValue<DateTime>().ToUniversalTime() - asked < TimeSpan.FromSeconds(2.5), "stopped within about two seconds");
        await (await client.PostAsync($"/api/executions/{id}/cancel", null)).ExpectAsync(409, -1);
    }

    [Fact]
    public async Task Retry_of_a_finished_run_is_a_new_linked_execution()
    {
        app.AkTools.Fails("stock_zh_a_hist");
        var (client, taskId) = await TaskAsync();
        var failed = await app.WaitForEndAsync(client, await ExecuteAsync(client, taskId));
        Assert.Equal("failed", failed["status"]!.GetValue<string>());

        app.ServeBars();
        var retry = (await (await client.PostAsync($"/api/executions/{failed["execution_id"]}/retry", null)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("pending", retry["status"]!.GetValue<string>());
        Assert.NotEqual(failed["execution_id"]!.GetValue<string>(), retry["execution_id"]!.GetValue<string>());
        var done = await app.WaitForEndAsync(client, retry["execution_id"]!.GetValue<string>());
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal("retry", done["triggered_by"]!.GetValue<string>());
        Assert.Equal(1, done["retry_count"]!.GetValue<int>());
        Assert.Equal(failed["execution_id"]!.GetValue<string>(), done["retry_of"]!.GetValue<string>());
        Assert.Equal(taskId, done["task_id"]!.GetValue<long>());

        await (await client.PostAsync("/api/executions/exec_nope/retry", null)).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task A_task_that_asks_for_retries_gets_them_with_backoff_counted_in_retry_count()
    {
        app.AkTools.Fails("stock_news_em");
        var (client, taskId) = await TaskAsync(new
        {
            name = "新闻", script_id = "stock_news_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = "300059" }, retry_on_failure = true, max_retries = 2,
        });
        await ExecuteAsync(client, taskId);
        var runs = await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(taskId), r => r.Count == 3 && r.All(e => e.Status == "failed"), 30);
        Assert.Equal([0, 1, 2], runs.Select(r => r.RetryCount));
        Assert.All(runs, r => Assert.Equal("failed", r.Status));
        Assert.Equal(runs[0].ExecutionId, runs[1].RetryOf);
        Assert.Equal(runs[1].ExecutionId, runs[2].RetryOf);
        // The backoff (0.5 s here, doubled) is a lower bound: a loaded machine only makes the waits longer.
        Assert.True(runs[1].StartTime - runs[0].StartTime >= TimeSpan.FromSeconds(0.5), "the first retry waited its delay");
        Assert.True(runs[2].StartTime - runs[1].StartTime >= TimeSpan.FromSeconds(1.0), "the second retry waited twice as long");
        // A third retry would have come 2 s (and a second) after the second: none does.
        await Task.Delay(3500);
        Assert.Equal(3, (await app.ExecutionsOfAsync(taskId)).Count);
    }

    [Fact]
    public async Task Executions_are_listed_filtered_and_counted_as_the_rows_say()
    {
        app.ServeBars();
        var (client, taskId) = await TaskAsync();
        await app.WaitForEndAsync(client, await ExecuteAsync(client, taskId));
        var admin = await app.AdminAsync();

        var list = (await (await client.GetAsync($"/api/executions/?task_id={taskId}&status=completed")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, list["total"]!.GetValue<long>());
        var item = list["items"]![0]!;
        Assert.StartsWith("exec_", item["execution_id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(31, item["execution_id"]!.GetValue<string>().Length);
        Assert.NotNull(item["start_time"]);
        Assert.NotNull(item["end_time"]);
        await (await client.GetAsync("/api/executions/?status=done")).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/executions/exec_unknown")).ExpectAsync(404, 2001);

        var stats = (await (await admin.GetAsync("/api/executions/stats")).ExpectAsync(200, 0))["data"]!;
        await using var db = await app.OpenDatabaseAsync();
        var counts = (await db.QueryAsync<(string Status, long Count)>("SELECT status, COUNT(*) FROM executions GROUP BY status")).ToDictionary(c => c.Status, c => c.Count);
        Assert.Equal(counts.Values.Sum(), stats["total_count"]!.GetValue<long>());
        Assert.Equal(counts.GetValueOrDefault("completed"), stats["success_count"]!.GetValue<long>());
        Assert.Equal(counts.GetValueOrDefault("failed"), stats["failed_count"]!.GetValue<long>());
        Assert.Equal(counts.GetValueOrDefault("running"), stats["running_count"]!.GetValue<long>());
        var finished = counts.Where(c => c.Key is "completed" or "failed" or "cancelled" or "timeout").Sum(c => c.Value);
        Assert.Equal(Math.Round(100.0 * counts.GetValueOrDefault("completed") / finished, 1), stats["success_rate"]!.GetValue<double>());

        // A user's stats count only what they can see.
        var (stranger, _, _) = await app.NewUserAsync();
        var theirs = (await (await stranger.GetAsync("/api/executions/stats")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(0, theirs["total_count"]!.GetValue<long>());
        await (await stranger.GetAsync($"/api/executions/{item["execution_id"]}")).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task A_run_whose_worker_died_is_failed_retried_and_leaves_no_duplicate_rows()
    {
        // What a killed process leaves behind: its execution still 'running' with a heartbeat that stopped,
        // and the rows of the batches it had committed.
        app.ServeBars(days: 10);
        var (client, taskId) = await TaskAsync(new
        {
            name = "crash", script_id = "stock_zh_a_hist", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = "777777" }, retry_on_failure = true, max_retries = 1,
        });
        var first = await app.WaitForEndAsync(client, await ExecuteAsync(client, taskId));
        Assert.Equal(10, first["rows_affected"]!.GetValue<long>());
        await using var db = await app.OpenDatabaseAsync();
        await db.ExecuteAsync("DELETE FROM ak_stock_zh_a_hist WHERE `股票代码` = '777777' AND `日期` > '2024-06-06'");
        await db.ExecuteAsync("""
            UPDATE executions SET status = 'running', end_time = NULL, worker = 'killed-host:4242',
              heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR WHERE execution_id = @id
            """, new { id = first["execution_id"]!.GetValue<string>() });

        var runs = await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(taskId), r => r.Count == 2 && r[1].Status == "completed", 30);
        Assert.Equal("failed", runs[0].Status);
        var died = (await (await client.GetAsync($"/api/executions/{runs[0].ExecutionId}")).ExpectAsync(200, 0))["data"]!;
        Assert.Contains("killed-host:4242", died["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("completed", runs[1].Status);
        Assert.Equal(runs[0].ExecutionId, runs[1].RetryOf);
        Assert.Equal(10, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_hist WHERE `股票代码` = '777777'"));
        Assert.Equal(10, await db.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT `日期`) FROM ak_stock_zh_a_hist WHERE `股票代码` = '777777'"));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM executions WHERE status = 'running' AND heartbeat_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND"));
    }
}

public sealed class SlowDefaultTimeoutApp : CollectingApp
{
    public SlowDefaultTimeoutApp() => Set("Hangfire:WorkerCount", "6");
}

/// <summary>Settings that apply to the whole app: each test class owns its app.</summary>
public sealed class ExecutionLimitsTests(SlowDefaultTimeoutApp app) : IClassFixture<SlowDefaultTimeoutApp>
{
    [Fact]
    public async Task Max_concurrent_tasks_is_honoured_a_pending_run_can_be_cancelled_and_a_change_applies_live()
    {
        var admin = await app.AdminAsync();
        await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 2 })).ExpectAsync(200, 0);
        app.ServeSlowBars(rows: 12, pauseEvery: 4, pauseMs: 400);
        var (client, _, _) = await app.NewUserAsync();
        // Five tasks, one run each: a task has one run pending or running at a time (a second /execute is 409).
        var taskIds = new List<long>();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var taskId = (await client.CreateAsync(TaskTestKit.Daily("00000" + i, "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
            taskIds.Add(taskId);
            ids.Add((await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>());
        }

        // Cancel the last one while it waits for a slot: it must never start.
        await Task.Delay(300);
        await (await client.PostAsync($"/api/executions/{ids[4]}/cancel", null)).ExpectAsync(200, 0);

        var maxRunning = 0;
        await using var db = await app.OpenDatabaseAsync();
        var deadline = Deadline.In(60);
        while (!deadline.Passed)
        {
            var running = await db.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM executions WHERE task_id IN @taskIds AND status = 'running'", new { taskIds });
            maxRunning = Math.Max(maxRunning, running);
            var open = await db.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM executions WHERE task_id IN @taskIds AND status IN ('pending', 'running')", new { taskIds });
            if (open == 0) break;
            await Task.Delay(50);
        }

        Assert.Equal(2, maxRunning);
        var runs = new List<(string ExecutionId, string Status, string TriggeredBy, int RetryCount, string? RetryOf, DateTime? StartTime)>();
        foreach (var taskId in taskIds) runs.AddRange(await app.ExecutionsOfAsync(taskId));
        var errors = string.Join("; ", await db.QueryAsync<string>("SELECT error_message FROM executions WHERE task_id IN @taskIds AND error_message IS NOT NULL", new { taskIds }));
        Assert.True(runs.Select(r => r.Status).SequenceEqual(["completed", "completed", "completed", "completed", "cancelled"]), errors);
        Assert.Null(runs[4].StartTime);

        await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 5 })).ExpectAsync(200, 0);
    }

    [Fact]
    public async Task A_run_longer_than_its_timeout_ends_as_timeout()
    {
        app.ServeSlowBars(function: "stock_news_em", rows: 1000, pauseEvery: 1, pauseMs: 500);
        var (client, _, _) = await app.NewUserAsync();
        var task = await client.CreateAsync(new
        {
            name = "慢", script_id = "stock_news_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = "1" }, timeout_seconds = 10,
        });
        var id = (await (await client.PostAsync($"/api/tasks/{task["id"]}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var run = await app.WaitForEndAsync(client, id, 30);
        Assert.Equal("timeout", run["status"]!.GetValue<string>());
        Assert.Contains("10 s", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        var seconds = (run["end_time"]!.GetValue<DateTime>() - run["start_time"]!.GetValue<DateTime>()).TotalSeconds;
        Assert.InRange(seconds, 9.5, 13);
    }
}
