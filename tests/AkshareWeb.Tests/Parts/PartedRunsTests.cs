using System.Net.Http.Json;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>Runs over parameter sources: one execution made of parts, each a call of AKTools and a keyed write.</summary>
public sealed class PartedRunsTests(PartsApp app) : IClassFixture<PartsApp>
{
    private List<string> CallsOf(string function, string symbol) =>
        app.AkTools.Calls.Where(c => c.Function == function && HttpUtility.ParseQueryString(c.Query)["symbol"] == symbol).Select(c => c.Query).ToList();

    [Fact]
    public async Task A_list_of_values_is_one_execution_with_a_part_per_value()
    {
        app.ServeWindowBars("fanout_bars_em");
        var (client, _, _) = await app.NewUserAsync();
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = new[] { "100001", "100002", "100003" } } });
        var id = await PartsApp.ExecuteAsync(client, taskId);
        var run = await app.EndAsync(client, id);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal(3, run["parts_total"]!.GetValue<int>());
        Assert.Equal(3, run["parts_done"]!.GetValue<int>());
        Assert.Equal(0, run["parts_failed"]!.GetValue<int>());
        Assert.Equal(100, run["progress"]!.GetValue<int>());
        Assert.Equal(30, run["rows_affected"]!.GetValue<long>());
        var parts = await PartsApp.PartsAsync(client, id);
        Assert.Equal(["100001", "100002", "100003"], parts.Select(p => p!["parameters"]!["symbol"]!.GetValue<string>()));
        Assert.All(parts, p =>
        {
            Assert.Equal("completed", p!["status"]!.GetValue<string>());
            Assert.Equal(10, p["rows_written"]!.GetValue<long>());
            Assert.Equal(1, p["tries"]!.GetValue<int>());
        });

        var bars = await app.BarsAsync("ak_fanout_bars_em");
        foreach (var symbol in new[] { "100001", "100002", "100003" })
        {
            Assert.Equal(10, bars.Count(b => b.Symbol == symbol));
            Assert.Single(CallsOf("fanout_bars_em", symbol));
        }

        // The parts endpoint filters by status; a bad status is a 422.
        Assert.Empty(await PartsApp.PartsAsync(client, id, "failed"));
        await (await client.GetAsync($"/api/executions/{id}/parts?status=nope")).ExpectAsync(422, 3001);
    }

    [Fact]
    public async Task A_bad_value_in_a_list_is_a_422_naming_its_place_and_too_many_parts_are_refused()
    {
        var (client, _, _) = await app.NewUserAsync();
        var response = await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "bad", script_id = "fanout_bars_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = new { values = new[] { "000001", "600519", "000858", "60\"0000" } } },
        });
        var body = await response.ExpectAsync(422, 3001);
        Assert.Contains(body["detail"]!.AsArray(), e => e!["field"]!.GetValue<string>() == "parameters.symbol[3]");

        var cross = await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "big", script_id = "fanout_bars_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = new { values = Enumerable.Range(0, 26).Select(i => $"{i:D6}").ToArray() }, period = new { values = new[] { "daily", "weekly" } } },
        });
        var tooMany = await cross.ExpectAsync(422, 3001);
        Assert.Contains("52 parts", tooMany.ToJsonString(), StringComparison.Ordinal);

        var unknown = await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "t", script_id = "fanout_bars_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = new { from_table = "ak_no_such_table", column = "code" } },
        });
        Assert.Contains((await unknown.ExpectAsync(422, 3001))["detail"]!.AsArray(), e => e!["field"]!.GetValue<string>() == "parameters.symbol.from_table");
    }

    [Fact]
    public async Task A_table_source_makes_a_part_per_distinct_value_of_its_filtered_column()
    {
        app.ServeWindowBars("fanout_bars_em");
        app.ServeCodes(("200001", "sh"), ("200002", "sz"), ("200003", "sh"), ("200003", "sh"));
        var (client, _, _) = await app.NewUserAsync();
        var codes = await app.WaitForEndAsync(client, await PartsApp.ExecuteAsync(client, await app.ScriptTaskAsync(client, "fanout_codes_em", new { })));
        Assert.Equal("completed", codes["status"]!.GetValue<string>());
        Assert.Null(codes["parts_total"]);

        var missingColumn = await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "t", script_id = "fanout_bars_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = new { from_table = "ak_fanout_codes_em", column = "symbol_code" } },
        });
        Assert.Contains((await missingColumn.ExpectAsync(422, 3001))["detail"]!.AsArray(), e => e!["field"]!.GetValue<string>() == "parameters.symbol.column");

        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em",
            new { symbol = new { from_table = "ak_fanout_codes_em", column = "code", filter = new { market = "sh" } } });
        var run = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, taskId));
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal(2, run["parts_total"]!.GetValue<int>());
        Assert.Single(CallsOf("fanout_bars_em", "200001"));
        Assert.Single(CallsOf("fanout_bars_em", "200003"));
        Assert.Empty(CallsOf("fanout_bars_em", "200002"));
    }

    [Fact]
    public async Task Two_lists_make_their_cross_product()
    {
        app.ServeWindowBars("fanout_bars_em");
        var (client, _, _) = await app.NewUserAsync();
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em",
            new { symbol = new { values = new[] { "300001", "300002" } }, period = new { values = new[] { "daily", "weekly" } } });
        var run = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, taskId));
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal(4, run["parts_total"]!.GetValue<int>());
        var bars = (await app.BarsAsync("ak_fanout_bars_em")).Where(b => b.Symbol.StartsWith("30000", StringComparison.Ordinal)).ToList();
        Assert.Equal(40, bars.Count);
        Assert.Equal(["300001 daily", "300001 weekly", "300002 daily", "300002 weekly"],
            bars.Select(b => $"{b.Symbol} {b.Period}").Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Since_last_asks_each_part_only_from_its_own_last_stored_day_minus_the_overlap()
    {
        app.ServeWindowBars("fanout_bars_em");
        var (client, _, _) = await app.NewUserAsync();
        var first = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = new[] { "400001", "400002" } } });
        Assert.Equal("completed", (await app.EndAsync(client, await PartsApp.ExecuteAsync(client, first)))["status"]!.GetValue<string>());
        // 400002 weekly rows end later: since_last must match the period as well as the symbol.
        var weekly = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = "400002", period = "weekly", end_date = "20240620" });
        Assert.Equal("completed", (await app.EndAsync(client, await PartsApp.ExecuteAsync(client, weekly)))["status"]!.GetValue<string>());

        var evening = await app.ScriptTaskAsync(client, "fanout_bars_em", new
        {
            symbol = new { values = new[] { "400001", "400002", "400003" } },
            start_date = new { since_last = "日期", overlap_days = 2 },
            end_date = "20240615",
        });
        var id = await PartsApp.ExecuteAsync(client, evening);
        var run = await app.EndAsync(client, id);
        Assert.Equal("completed", run["status"]!.GetValue<string>());

        string StartOfLast(string symbol) => HttpUtility.ParseQueryString(CallsOf("fanout_bars_em", symbol).Last())["start_date"]!;
        Assert.Equal("20240608", StartOfLast("400001"));
        Assert.Equal("20240608", StartOfLast("400002"));
        Assert.Equal("20240601", StartOfLast("400003"));
        var parts = await PartsApp.PartsAsync(client, id);
        Assert.Equal("20240608", parts[0]!["parameters"]!["start_date"]!.GetValue<string>());
        Assert.Equal(8, parts[0]!["rows_fetched"]!.GetValue<long>());

        var bars = await app.BarsAsync("ak_fanout_bars_em");
        Assert.Equal(15, bars.Count(b => b.Symbol == "400001"));
        Assert.Equal(15, bars.Count(b => b.Symbol == "400002" && b.Period == "daily"));
        Assert.Equal(15, bars.Count(b => b.Symbol == "400003"));
        Assert.Equal(bars.Count, bars.Distinct().Count());
    }

    [Fact]
    public async Task A_part_failing_for_good_fails_the_run_alone_and_retry_runs_only_that_part()
    {
        app.ServeWindowBars("fanout_bars_em", failing: "500002");
        var (client, _, _) = await app.NewUserAsync();
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = new[] { "500001", "500002", "500003" } } });
        var id = await PartsApp.ExecuteAsync(client, taskId);
        var run = await app.EndAsync(client, id);

        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal(2, run["parts_done"]!.GetValue<int>());
        Assert.Equal(1, run["parts_failed"]!.GetValue<int>());
        Assert.StartsWith("1 of 3 parts failed", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        var failed = Assert.Single(await PartsApp.PartsAsync(client, id, "failed"));
        Assert.Equal("500002", failed!["parameters"]!["symbol"]!.GetValue<string>());
        Assert.Equal(3, failed["tries"]!.GetValue<int>());
        Assert.Contains("500", failed["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(3, CallsOf("fanout_bars_em", "500002").Count);
        Assert.Equal(20, (await app.BarsAsync("ak_fanout_bars_em")).Count(b => b.Symbol is "500001" or "500003"));

        app.ServeWindowBars("fanout_bars_em");
        var retry = (await (await client.PostAsync($"/api/executions/{id}/retry", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var again = await app.EndAsync(client, retry);
        Assert.Equal("completed", again["status"]!.GetValue<string>());
        Assert.Equal(1, again["parts_total"]!.GetValue<int>());
        Assert.Equal(id, again["retry_of"]!.GetValue<string>());
        Assert.Single(CallsOf("fanout_bars_em", "500001"));
        Assert.Single(CallsOf("fanout_bars_em", "500003"));
        Assert.Equal(4, CallsOf("fanout_bars_em", "500002").Count);
        Assert.Equal(10, (await app.BarsAsync("ak_fanout_bars_em")).Count(b => b.Symbol == "500002"));
    }

    [Fact]
    public async Task Cancel_stops_the_remaining_parts()
    {
        app.ServeWindowBars("fanout_bars_em", TimeSpan.FromMilliseconds(300));
        var (client, _, _) = await app.NewUserAsync();
        var symbols = Enumerable.Range(1, 30).Select(i => $"6{i:D5}").ToArray();
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = symbols } }, concurrency: 2);
        var id = await PartsApp.ExecuteAsync(client, taskId);
        await TaskTestKit.EventuallyAsync(async () => (await PartsApp.PartsAsync(client, id, "completed")).Count, n => n >= 2);

        var asked = DateTime.UtcNow;
        await (await client.PostAsync($"/api/executions/{id}/cancel", null)).ExpectAsync(200, 0);
        var run = await app.EndAsync(client, id, 10);
        Assert.Equal("cancelled", run["status"]!.GetValue<string>());
        Assert.True(run["end_time"]!.GetValue<DateTime>().ToUniversalTime() - asked < TimeSpan.FromSeconds(2.5), "stopped within about two seconds");
        var calls = app.AkTools.Calls.Count(c => c.Function == "fanout_bars_em");
        await Task.Delay(1000);
        Assert.Equal(calls, app.AkTools.Calls.Count(c => c.Function == "fanout_bars_em"));
        var parts = await PartsApp.PartsAsync(client, id);
        Assert.Equal(30, parts.Count);
        Assert.DoesNotContain(parts, p => p!["status"]!.GetValue<string>() is "pending" or "running");
        Assert.True(parts.Count(p => p!["status"]!.GetValue<string>() == "cancelled") >= 20);
        await (await client.PostAsync($"/api/executions/{id}/cancel", null)).ExpectAsync(409, -1);
    }

    [Fact]
    public async Task The_rate_of_a_site_family_holds_across_runs_at_once()
    {
        app.ServeWindowBars("fanout_bars_sina");
        var (client, _, _) = await app.NewUserAsync();
        var first = await app.ScriptTaskAsync(client, "fanout_bars_sina", new { symbol = new { values = Enumerable.Range(1, 8).Select(i => $"7{i:D5}").ToArray() } }, concurrency: 4);
        var second = await app.ScriptTaskAsync(client, "fanout_bars_sina", new { symbol = new { values = Enumerable.Range(11, 8).Select(i => $"7{i:D5}").ToArray() } }, concurrency: 4);
        var ids = new[] { await PartsApp.ExecuteAsync(client, first), await PartsApp.ExecuteAsync(client, second) };
        foreach (var id in ids)
        {
            var run = await app.EndAsync(client, id);
            Assert.True(run["status"]!.GetValue<string>() == "completed", (await PartsApp.PartsAsync(client, id, "failed")).ToJsonString());
            Assert.Equal("sina", run["result"]!["source_family"]!.GetValue<string>());
        }

        var times = app.Arrivals.Where(a => a.Function == "fanout_bars_sina").Select(a => a.At).Order().ToList();
        Assert.Equal(16, times.Count);
        // 5 calls/s: any six consecutive calls span at least a second (less 100 ms for the way from the service to the fake on a loaded machine).
        for (var i = 0; i + 5 < times.Count; i++)
        {
            Assert.True(times[i + 5] - times[i] >= TimeSpan.FromMilliseconds(900), $"calls {i}..{i + 5} came within {(times[i + 5] - times[i]).TotalMilliseconds:0} ms");
        }
    }

    [Fact]
    public async Task A_download_takes_sources_and_a_script_test_fetches_the_first_part()
    {
        app.ServeWindowBars("fanout_bars_em");
        var (client, _, _) = await app.NewUserAsync();
        var run = await app.DownloadAsync("fanout_bars_em", new { symbol = new { values = new[] { "110001", "110002" } }, start_date = "20240601", end_date = "20240603" }, client: client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal(2, run["parts_total"]!.GetValue<int>());
        Assert.Equal(6, (await app.BarsAsync("ak_fanout_bars_em")).Count(b => b.Symbol is "110001" or "110002"));

        var test = (await (await client.PostAsJsonAsync("/api/scripts/fanout_bars_em/test", new { parameters = new { symbol = new { values = new[] { "110003", "110004" } } } }))
            .ExpectAsync(200, 0))["data"]!;
        Assert.Equal("110003", test["parameters"]!["symbol"]!.GetValue<string>());
        Assert.Equal(10, test["rows_affected"]!.GetValue<long>());
        Assert.Empty(CallsOf("fanout_bars_em", "110004"));
    }
}
