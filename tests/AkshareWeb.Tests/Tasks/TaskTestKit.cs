using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Tasks;

/// <summary>Shared steps of the task and execution tests.</summary>
public static class TaskTestKit
{
    public static async Task<JsonNode> CreateAsync(this HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/tasks/", body);
        return (await response.ExpectAsync(201, 0))["data"]!;
    }

    public static object Daily(string symbol, string type = "interval", string expression = "2", object? extra = null) => new
    {
        name = "日线 " + symbol,
        script_id = "stock_zh_a_hist",
        schedule_type = type,
        schedule_expression = expression,
        parameters = new { symbol },
        retry_on_failure = false,
        max_retries = 0,
    };

    /// <summary>Bars for any symbol asked, so every run writes rows.</summary>
    public static void ServeBars(this CollectingApp app, int days = 3) =>
        app.AkTools.Rows("stock_zh_a_hist", q => Enumerable.Range(0, days).Select(i => TestScripts.Bar(q["symbol"].ToString(), new DateOnly(2024, 6, 3).AddDays(i), 8.5 + i)));

    /// <summary>An answer that trickles in: runs last long enough to be cancelled, timed out or counted.</summary>
    public static void ServeSlowBars(this CollectingApp app, string function = "stock_zh_a_hist", int rows = 40, int pauseEvery = 10, int pauseMs = 400) =>
        app.AkTools.Generate(function, rows, i => $"{{\"日期\":\"2024-07-{1 + i % 28:D2}T00:00:00.000\",\"股票代码\":\"{i / 28:D6}\",\"收盘\":{1.5 + i}}}", pauseEvery, TimeSpan.FromMilliseconds(pauseMs));

    public static async Task<IReadOnlyList<(string ExecutionId, string Status, string TriggeredBy, int RetryCount, string? RetryOf, DateTime? StartTime)>> ExecutionsOfAsync(this AkshareWebApp app, long taskId)
    {
        await using var db = await app.OpenDatabaseAsync();
        return (await db.QueryAsync<(string, string, string, int, string?, DateTime?)>(
            "SELECT execution_id, status, triggered_by, retry_count, retry_of, start_time FROM executions WHERE task_id = @taskId ORDER BY id", new { taskId })).ToList();
    }

    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, int seconds = 30)
    {
        var deadline = Deadline.In(seconds);
        while (true)
        {
            var value = await probe();
            if (done(value) || deadline.Passed) return value;
            await Task.Delay(150);
        }
    }
}
