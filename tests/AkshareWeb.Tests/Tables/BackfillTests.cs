using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Warehouse;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using static AkshareWeb.Tests.Tables.CoverageApp;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// POST /api/tables/{table}/backfill against the fake upstream, the clock at 2024-06-14 16:00 Beijing time (Friday's
/// close passed; Labour Day and the Dragon Boat Festival closed). Symbols whose stored ranges differ each end holding
/// exactly what the upstream serves, and the calls ask only for what was missing.
/// </summary>
public sealed class BackfillTests(CoverageApp app) : IClassFixture<CoverageApp>
{
    private const string Mine = "filter[股票代码][gte]=600301&filter[股票代码][lte]=600305";

    private static readonly object[] MyKeys =
    [
        new Dictionary<string, string> { ["股票代码"] = "600301" }, new Dictionary<string, string> { ["股票代码"] = "600302" },
        new Dictionary<string, string> { ["股票代码"] = "600303" }, new Dictionary<string, string> { ["股票代码"] = "600304" },
        new Dictionary<string, string> { ["股票代码"] = "600305" },
    ];

    [Fact]
    public async Task Holes_a_stale_tail_and_a_missing_week_are_filled_and_a_suspension_is_confirmed_empty()
    {
        var (client, _, _) = await app.NewUserAsync();
        // 600301: holes 05-20..05-22 and 06-05, which the upstream has.
        await app.CollectAsync(client, "600301", Trading("2024-05-06", "2024-06-14", "2024-05-20", "2024-05-21", "2024-05-22", "2024-06-05"));
        app.Serve("600301", Trading("2024-05-06", "2024-06-14"));
        // 600302: suspended 06-03..06-06 (停牌), which the upstream has no rows for either.
        await app.CollectAsync(client, "600302", Trading("2024-05-06", "2024-06-14", "2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06"));
        // 600303: listed on 05-27, whole since.
        await app.CollectAsync(client, "600303", Trading("2024-05-27", "2024-06-14"));
        // 600304: stopped being collected after 06-07; the upstream has the days since.
        await app.CollectAsync(client, "600304", Trading("2024-05-06", "2024-06-07"));
        app.Serve("600304", Trading("2024-05-06", "2024-06-14"));
        // 600305: weekly bars (each on its week's last trading day) without the week of 05-20, which the upstream has.
        string[] weeks = ["2024-05-10", "2024-05-17", "2024-05-24", "2024-05-31", "2024-06-07", "2024-06-14"];
        await app.CollectAsync(client, "600305", weeks.Where(w => w != "2024-05-24").Select(D), "weekly");
        app.Serve("600305", weeks.Select(D), "weekly");
        var before = await CoverageAsync(client, "?" + Mine);
        Assert.Equal(4, before["summary"]!["with_gaps"]!.GetValue<long>());

        var callsBefore = app.AkTools.Calls.Count;
        var started = (await (await client.PostAsJsonAsync($"/api/tables/{Table}/backfill", new { keys = MyKeys })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(5, started["parts_total"]!.GetValue<int>());
        var run = await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
        Assert.Equal("completed", run["status"]!.GetValue<string>());

        // One call per missing range, the close ones merged, each with the key's own symbol and period; none for 600303.
        var asked = app.AkTools.Calls.Skip(callsBefore).Where(c => c.Function == "cov_bars").Select(c => Asked(c.Query)).Order().ToList();
        Assert.Equal([
            "600301 daily 20240520-20240522", "600301 daily 20240605-20240605", "600302 daily 20240603-20240606",
            "600304 daily 20240611-20240614", "600305 weekly 20240520-20240524",
        ], asked);

        // Each symbol holds exactly what the upstream serves.
        foreach (var (symbol, period) in new[] { ("600301", "daily"), ("600302", "daily"), ("600303", "daily"), ("600304", "daily"), ("600305", "weekly") })
        {
            Assert.Equal(app.Served(symbol, period).ToList(), await StoredAsync(symbol, period));
        }

        var after = await CoverageAsync(client, "?" + Mine);
        Assert.Equal(0, after["summary"]!["missing_days"]!.GetValue<long>());
        Assert.Equal(0, after["summary"]!["stale"]!.GetValue<long>());
        Assert.Equal(4, after["summary"]!["confirmed_empty_days"]!.GetValue<long>());
        var suspended = KeyOf(after, "600302");
        Assert.Equal(["2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06"], Days(suspended["confirmed_empty"]));
        Assert.Equal(0, suspended["missing_days"]!.GetValue<int>());

        // Nothing missing: no run, and no call.
        var again = (await (await client.PostAsJsonAsync($"/api/tables/{Table}/backfill", new { keys = MyKeys })).ExpectAsync(200, 0))["data"]!;
        Assert.Null(again["execution_id"]);
        Assert.Equal(0, again["parts_total"]!.GetValue<int>());

        // The upstream has 06-04 after all; a run that stores it takes that day's mark off.
        app.Serve("600302", Trading("2024-05-06", "2024-06-14", "2024-06-03", "2024-06-05", "2024-06-06"));
        await app.CollectAsync(client, "600302", app.Served("600302"));
        var marks = app.Services.GetRequiredService<ConfirmedEmptyDays>();
        var hash = Convert.ToHexString(ConfirmedEmptyDays.KeyHash(ConfirmedEmptyDays.KeyJson([new("股票代码", "600302"), new("period", "daily")])));
        var left = await Tasks.TaskTestKit.EventuallyAsync(
            async () => (await marks.ReadAsync(Table, D("2024-05-01"), D("2024-06-30"), CancellationToken.None))
                .Where(m => Convert.ToHexString(m.KeyHash) == hash).Select(m => m.Day).Order().ToList(),
            days => days.Count == 3);
        Assert.Equal([D("2024-06-03"), D("2024-06-05"), D("2024-06-06")], left);
    }

    [Fact]
    public async Task A_range_and_keys_narrow_the_backfill_and_bad_keys_are_a_422_naming_them()
    {
        var (client, _, _) = await app.NewUserAsync();
        await app.CollectAsync(client, "600311", Trading("2024-05-06", "2024-06-14", "2024-05-08", "2024-06-12"));
        app.Serve("600311", Trading("2024-05-06", "2024-06-14"));
        await app.CollectAsync(client, "600312", Trading("2024-05-06", "2024-06-14", "2024-06-12"));

        // June only, and only 600311: its 05-08 hole and 600312 stay.
        var started = (await (await client.PostAsJsonAsync($"/api/tables/{Table}/backfill",
            new { from = "2024-06-01", to = "2024-06-14", keys = new[] { new Dictionary<string, string> { ["股票代码"] = "600311" } } })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, started["parts_total"]!.GetValue<int>());
        Assert.Equal("completed", (await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>()))["status"]!.GetValue<string>());
        var coverage = await CoverageAsync(client, "?filter[股票代码][gte]=600311&filter[股票代码][lte]=600312");
        Assert.Equal(["2024-05-08"], Days(KeyOf(coverage, "600311")["missing"]));
        Assert.Equal(["2024-06-12"], Days(KeyOf(coverage, "600312")["missing"]));

        var error = await (await client.PostAsJsonAsync($"/api/tables/{Table}/backfill",
            new { keys = new[] { new Dictionary<string, string> { ["日期"] = "2024-06-12" }, new Dictionary<string, string> { ["收盘"] = "10" } } })).ExpectAsync(422, 3001);
        var fields = error["detail"]!.AsArray().Select(d => d!["field"]!.GetValue<string>()).ToList();
        Assert.Contains("keys[0].日期", fields);
        Assert.Contains("keys[1].收盘", fields);
        await (await client.PostAsJsonAsync($"/api/tables/{Table}/backfill", new { from = "2024-06-12", to = "2024-06-01" })).ExpectAsync(422, 3001);
        await (await client.PostAsJsonAsync("/api/tables/ak_no_such_table/backfill", new { })).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Ranges_a_few_trading_days_apart_are_asked_in_one_call_and_what_was_stored_between_stays_once()
    {
        var (client, _, _) = await app.NewUserAsync();
        // 06-04 and 06-06 missing, 06-05 stored between them; 05-13 three weeks before.
        await app.CollectAsync(client, "600321", Trading("2024-05-06", "2024-06-14", "2024-05-13", "2024-06-04", "2024-06-06"));
        app.Serve("600321", Trading("2024-05-06", "2024-06-14"));

        var callsBefore = app.AkTools.Calls.Count;
        var started = (await (await client.PostAsJsonAsync($"/api/tables/{Table}/backfill",
            new { keys = new[] { new Dictionary<string, string> { ["股票代码"] = "600321" } } })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(2, started["parts_total"]!.GetValue<int>());
        Assert.Equal("completed", (await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>()))["status"]!.GetValue<string>());
        Assert.Equal(["600321 daily 20240513-20240513", "600321 daily 20240604-20240606"],
            app.AkTools.Calls.Skip(callsBefore).Where(c => c.Function == "cov_bars").Select(c => Asked(c.Query)).Order().ToList());
        Assert.Equal(app.Served("600321").ToList(), await StoredAsync("600321", "daily"));
    }

    /// <summary>"symbol period start-end" of one call's query.</summary>
    private static string Asked(string query)
    {
        var values = query.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => Uri.UnescapeDataString(p[0]), p => Uri.UnescapeDataString(p.Length > 1 ? p[1] : ""));
        return $"{values["symbol"]} {values["period"]} {values["start_date"]}-{values["end_date"]}";
    }

    private async Task<List<DateOnly>> StoredAsync(string symbol, string period)
    {
        await using var db = await app.OpenDatabaseAsync();
        var days = await db.QueryAsync<DateTime>($"SELECT `日期` FROM `{Table}` WHERE `股票代码` = @symbol AND period = @period ORDER BY `日期`", new { symbol, period });
        return days.Select(DateOnly.FromDateTime).ToList();
    }
}
