using System.Net.Http.Json;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// The edges of parted runs: values that only appear when the run reads its table, since_last in a script test,
/// and how many parts run at once.
/// </summary>
public sealed class PartLimitsTests(PartsApp app) : IClassFixture<PartsApp>
{
    private List<string> CallsOf(string function, string symbol) =>
        app.AkTools.Calls.Where(c => c.Function == function && HttpUtility.ParseQueryString(c.Query)["symbol"] == symbol).Select(c => c.Query).ToList();

    /// <summary>
    /// A table source is read when the run starts, after every request check: a value there that AKTools must not
    /// receive fails its own part, is not retried, and never leaves the service; the other parts are collected.
    /// </summary>
    [Fact]
    public async Task A_table_value_AKTools_must_not_receive_fails_its_part_and_nothing_is_sent()
    {
        app.ServeWindowBars("fanout_bars_em");
        app.ServeCodes(("810001", "sh"), ("81\"+str(1)+\"", "sh"), ("810003", "sh"));
        var (client, _, _) = await app.NewUserAsync();
        var codes = await app.WaitForEndAsync(client, await PartsApp.ExecuteAsync(client, await app.ScriptTaskAsync(client, "fanout_codes_em", new { })));
        Assert.Equal("completed", codes["status"]!.GetValue<string>());

        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { from_table = "ak_fanout_codes_em", column = "code" } });
        var id = await PartsApp.ExecuteAsync(client, taskId);
        var run = await app.EndAsync(client, id);

        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal(3, run["parts_total"]!.GetValue<int>());
        Assert.Equal(2, run["parts_done"]!.GetValue<int>());
        Assert.Equal(1, run["parts_failed"]!.GetValue<int>());
        var failed = Assert.Single(await PartsApp.PartsAsync(client, id, "failed"));
        Assert.Equal("81\"+str(1)+\"", failed!["parameters"]!["symbol"]!.GetValue<string>());
        Assert.StartsWith("AKTools was not called", failed["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, failed["tries"]!.GetValue<int>());
        Assert.DoesNotContain(app.AkTools.Calls, c => c.Function == "fanout_bars_em" && c.Query.Contains("str", StringComparison.Ordinal));
        Assert.Single(CallsOf("fanout_bars_em", "810001"));
        Assert.Single(CallsOf("fanout_bars_em", "810003"));
        Assert.Equal(20, (await app.BarsAsync("ak_fanout_bars_em")).Count(b => b.Symbol is "810001" or "810003"));
    }

    [Fact]
    public async Task A_script_test_with_since_last_asks_from_the_last_stored_day_minus_the_overlap()
    {
        app.ServeWindowBars("fanout_bars_em");
        var (client, _, _) = await app.NewUserAsync();
        Assert.Equal("completed", (await app.DownloadAsync("fanout_bars_em", new { symbol = "820001" }, client: client))["status"]!.GetValue<string>());

        async Task<System.Text.Json.Nodes.JsonNode> TestAsync(string symbol) =>
            (await (await client.PostAsJsonAsync("/api/scripts/fanout_bars_em/test", new
            {
                parameters = new { symbol, start_date = new { since_last = "日期", overlap_days = 3 }, end_date = "20240612" },
            })).ExpectAsync(200, 0))["data"]!;

        // Stored up to 2024-06-10: from 06-07 to 06-12, six days.
        var stored = await TestAsync("820001");
        Assert.Equal("20240607", stored["parameters"]!["start_date"]!.GetValue<string>());
        Assert.Equal("20240607", HttpUtility.ParseQueryString(CallsOf("fanout_bars_em", "820001").Last())["start_date"]);
        Assert.Equal(6, stored["rows_affected"]!.GetValue<long>());
        // A test writes nothing.
        Assert.Equal(10, (await app.BarsAsync("ak_fanout_bars_em")).Count(b => b.Symbol == "820001"));

        // Nothing stored for this symbol: the script's default start.
        var fresh = await TestAsync("820002");
        Assert.Equal("20240601", fresh["parameters"]!["start_date"]!.GetValue<string>());
        Assert.Equal("20240601", HttpUtility.ParseQueryString(CallsOf("fanout_bars_em", "820002").Single())["start_date"]);
    }

    [Fact]
    public async Task Concurrency_is_between_1_and_100_and_never_above_max_concurrent_tasks()
    {
        var (client, _, _) = await app.NewUserAsync();
        foreach (var wrong in new[] { 0, 101 })
        {
            var response = await client.PostAsJsonAsync("/api/tasks/", new
            {
                name = "c", script_id = "fanout_bars_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
                parameters = new { symbol = new { values = new[] { "830001" } } }, concurrency = wrong,
            });
            Assert.Contains((await response.ExpectAsync(422, 3001))["detail"]!.AsArray(), e => e!["field"]!.GetValue<string>() == "concurrency");
        }

        var inFlight = 0;
        var most = 0;
        app.AkTools.Handle("fanout_bars_em", async context =>
        {
            var now = Interlocked.Increment(ref inFlight);
            lock (app) most = Math.Max(most, now);
            try
            {
                await Task.Delay(150, context.RequestAborted);
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("[]", context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        });

        var admin = await app.AdminAsync();
        await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 2 })).ExpectAsync(200, 0);
        try
        {
            var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = Enumerable.Range(1, 12).Select(i => $"83{i:D4}").ToArray() } }, concurrency: 8);
            var run = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, taskId));
            Assert.Equal("completed", run["status"]!.GetValue<string>());
            Assert.Equal(12, run["parts_done"]!.GetValue<int>());
            Assert.Equal(2, most);
        }
        finally
        {
            await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 5 })).ExpectAsync(200, 0);
        }
    }
}
