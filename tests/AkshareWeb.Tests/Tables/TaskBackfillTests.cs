using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Executions;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using static AkshareWeb.Tests.Tables.CoverageApp;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// A task with "backfill": true (issue 24, section 3) against the fake upstream, the clock at 2024-06-14 16:00 Beijing
/// time. Its symbols' stored ranges differ and have holes on different trading days behind their last day, which a
/// since_last task never asks for again; one of them was suspended a day the upstream has no row for. After one run of
/// the task, its backfill (an execution of its own, linked to the run) leaves each symbol holding exactly what the
/// upstream serves, the suspended day confirmed empty.
/// </summary>
public sealed class TaskBackfillTests(CoverageApp app) : IClassFixture<CoverageApp>
{
    [Fact]
    public async Task After_a_run_the_backfill_fills_the_holes_of_its_keys_and_a_backfill_never_starts_another()
    {
        var (client, _, _) = await app.NewUserAsync();
        var (a, b, c) = await HolesAsync(client, "60040");
        var taskId = await TaskAsync(client, [a, b, c], backfill: true);
        Assert.True((await TaskViewAsync(client, taskId))["backfill"]!.GetValue<bool>());

        var callsBefore = app.AkTools.Calls.Count;
        var runId = await RunAsync(client, taskId);
        var backfill = await BackfillOfAsync(client, taskId, runId);

        Assert.Equal("completed", backfill["status"]!.GetValue<string>());
        Assert.Equal("backfill", backfill["triggered_by"]!.GetValue<string>());
        Assert.Equal(runId, backfill["backfill_of"]!.GetValue<string>());
        Assert.Equal(taskId, backfill["task_id"]!.GetValue<long>());
        // One part per symbol: 600402's hole and its suspended day three trading days apart are one call.
        Assert.Equal(3, backfill["parts_total"]!.GetValue<int>());
        Assert.Equal(3, backfill["parts_done"]!.GetValue<int>());
        Assert.Equal(0, backfill["parts_failed"]!.GetValue<int>());
        // 2 rows of 600401, 05-29..06-03 of 600402 (4: the upstream has none on 06-04), 06-03 of 600403.
        Assert.Equal(7, backfill["rows_fetched"]!.GetValue<long>());

        // The run asked each symbol from its last day on (its calls end on 06-14); the backfill only for the holes.
        var asked = app.AkTools.Calls.Skip(callsBefore).Where(call => call.Function == "cov_bars").Select(call => Asked(call.Query)).ToList();
        Assert.Equal(3, asked.Count(q => q.EndsWith("-20240614", StringComparison.Ordinal)));
        Assert.Equal([$"{a} daily 20240520-20240521", $"{b} daily 20240529-20240604", $"{c} daily 20240603-20240603"],
            asked.Where(q => !q.EndsWith("-20240614", StringComparison.Ordinal)).Order().ToList());

        foreach (var symbol in new[] { a, b, c }) Assert.Equal(app.Served(symbol).ToList(), await StoredAsync(symbol));
        var coverage = await CoverageAsync(client, $"?filter[股票代码][gte]={a}&filter[股票代码][lte]={c}");
        Assert.Equal(0, coverage["summary"]!["missing_days"]!.GetValue<long>());
        Assert.Equal(["2024-06-04"], Days(KeyOf(coverage, b)["confirmed_empty"]));

        // A backfill's end starts nothing, and a run's end seen again makes no second backfill.
        var followUp = app.Services.GetRequiredService<IRunFollowUp>();
        await followUp.AfterRunAsync(backfill["execution_id"]!.GetValue<string>(), CancellationToken.None);
        await followUp.AfterRunAsync(runId, CancellationToken.None);
        Assert.Equal(["manual", "backfill"], (await app.ExecutionsOfAsync(taskId)).Select(e => e.TriggeredBy).ToList());

        // The next run finds nothing missing: its backfill says so and calls nothing.
        var secondRun = await RunAsync(client, taskId);
        var callsAfterRun = app.AkTools.Calls.Count;
        var empty = await BackfillOfAsync(client, taskId, secondRun);
        Assert.Equal("completed", empty["status"]!.GetValue<string>());
        Assert.Equal(0, empty["parts_total"]!.GetValue<int>());
        Assert.StartsWith("nothing missing", empty["result"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(callsAfterRun, app.AkTools.Calls.Count);
        await followUp.AfterRunAsync(empty["execution_id"]!.GetValue<string>(), CancellationToken.None);
        Assert.Equal(["manual", "backfill", "manual", "backfill"], (await app.ExecutionsOfAsync(taskId)).Select(e => e.TriggeredBy).ToList());
    }

    [Fact]
    public async Task Without_backfill_the_holes_stay()
    {
        var (client, _, _) = await app.NewUserAsync();
        var (a, b, c) = await HolesAsync(client, "60041");
        var taskId = await TaskAsync(client, [a, b, c], backfill: false);
        Assert.False((await TaskViewAsync(client, taskId))["backfill"]!.GetValue<bool>());

        var runId = await RunAsync(client, taskId);
        await app.Services.GetRequiredService<IRunFollowUp>().AfterRunAsync(runId, CancellationToken.None);
        Assert.Equal(["manual"], (await app.ExecutionsOfAsync(taskId)).Select(e => e.TriggeredBy).ToList());
        var coverage = await CoverageAsync(client, $"?filter[股票代码][gte]={a}&filter[股票代码][lte]={c}");
        Assert.Equal(["2024-05-20", "2024-05-21"], Days(KeyOf(coverage, a)["missing"]));
        Assert.Equal(["2024-05-29", "2024-06-04"], Days(KeyOf(coverage, b)["missing"]));
        Assert.Equal(["2024-06-03"], Days(KeyOf(coverage, c)["missing"]));
    }

    [Fact]
    public async Task Backfill_is_refused_with_the_reason_for_a_script_that_cannot_ask_for_missing_days()
    {
        var (client, _, _) = await app.NewUserAsync();
        // Append without a key, the trading calendar itself, and a key column (股票代码) that no parameter sets.
        foreach (var (script, parameters, why) in new (string, object, string)[]
        {
            ("stock_news_em", new { symbol = "000001" }, "no key columns"),
            ("tool_trade_date_hist_sina", new { }, "trading calendar"),
            ("stock_zh_a_hist", new { symbol = "000001" }, "股票代码"),
        })
        {
            var error = await (await client.PostAsJsonAsync("/api/tasks/", Body(script, parameters, true))).ExpectAsync(422, 3001);
            var detail = error["detail"]!.AsArray().Single()!;
            Assert.Equal("backfill", detail["field"]!.GetValue<string>());
            Assert.Contains(why, detail["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        // On an update too; a script that can is accepted, and the flag is kept until changed.
        var snapshot = (await client.CreateAsync(Body("macro_china_cpi", new { }, false)))["id"]!.GetValue<long>();
        var refused = await (await client.PutAsJsonAsync($"/api/tasks/{snapshot}", new { backfill = true })).ExpectAsync(422, 3001);
        Assert.Equal("backfill", refused["detail"]!.AsArray().Single()!["field"]!.GetValue<string>());
        Assert.False((await TaskViewAsync(client, snapshot))["backfill"]!.GetValue<bool>());

        var bars = await TaskAsync(client, ["600421"], backfill: false);
        Assert.True((await (await client.PutAsJsonAsync($"/api/tasks/{bars}", new { backfill = true })).ExpectAsync(200, 0))["data"]!["backfill"]!.GetValue<bool>());
        Assert.True((await (await client.PutAsJsonAsync($"/api/tasks/{bars}", new { name = "renamed" })).ExpectAsync(200, 0))["data"]!["backfill"]!.GetValue<bool>());
        // Its script changed to one that cannot backfill while the flag stays on: refused.
        await (await client.PutAsJsonAsync($"/api/tasks/{bars}", new { script_id = "stock_news_em", parameters = new { symbol = "000001" } })).ExpectAsync(422, 3001);
        Assert.False((await (await client.PutAsJsonAsync($"/api/tasks/{bars}", new { backfill = false })).ExpectAsync(200, 0))["data"]!["backfill"]!.GetValue<bool>());
    }

    /// <summary>
    /// Three symbols stored with holes behind their last day, each range its own, and the upstream holding every day
    /// through 06-14 but 600xx2's suspended 06-04: xx1 05-06..06-07 without 05-20 and 05-21; xx2 05-13..06-07 without
    /// 05-29 and 06-04; xx3, listed 05-27, 05-27..06-05 without 06-03.
    /// </summary>
    private async Task<(string A, string B, string C)> HolesAsync(HttpClient client, string prefix)
    {
        var (a, b, c) = (prefix + "1", prefix + "2", prefix + "3");
        await app.CollectAsync(client, a, Trading("2024-05-06", "2024-06-07", "2024-05-20", "2024-05-21"));
        app.Serve(a, Trading("2024-05-06", "2024-06-14"));
        await app.CollectAsync(client, b, Trading("2024-05-13", "2024-06-07", "2024-05-29", "2024-06-04"));
        app.Serve(b, Trading("2024-05-13", "2024-06-14", "2024-06-04"));
        await app.CollectAsync(client, c, Trading("2024-05-27", "2024-06-05", "2024-06-03"));
        app.Serve(c, Trading("2024-05-27", "2024-06-14"));
        return (a, b, c);
    }

    private static object Body(string script, object parameters, bool backfill) => new
    {
        name = $"backfill {script}",
        script_id = script,
        schedule_type = "cron",
        schedule_expression = "0 3 1 1 *",
        parameters,
        backfill,
    };

    /// <summary>A daily task over the symbols from each one's last stored day (since_last) to 06-14.</summary>
    private static async Task<long> TaskAsync(HttpClient client, string[] symbols, bool backfill) =>
        (await client.CreateAsync(Body("cov_bars", new { symbol = new { values = symbols }, start_date = new { since_last = "日期" }, end_date = "20240614" }, backfill)))["id"]!
        .GetValue<long>();

    private static async Task<JsonNode> TaskViewAsync(HttpClient client, long taskId) =>
        (await (await client.GetAsync($"/api/tasks/{taskId}")).ExpectAsync(200, 0))["data"]!;

    /// <summary>Runs the task now and waits for the run's end, which must be completed.</summary>
    private async Task<string> RunAsync(HttpClient client, long taskId)
    {
        var started = (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!;
        var run = await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        return run["execution_id"]!.GetValue<string>();
    }

    /// <summary>The backfill run that followed <paramref name="runId"/>, once it has ended.</summary>
    private async Task<JsonNode> BackfillOfAsync(HttpClient client, long taskId, string runId)
    {
        var made = await TaskTestKit.EventuallyAsync(async () =>
        {
            await using var db = await app.OpenDatabaseAsync();
            return await db.QuerySingleOrDefaultAsync<string?>(
                "SELECT execution_id FROM executions WHERE task_id = @taskId AND backfill_of = @runId", new { taskId, runId });
        }, id => id is not null);
        Assert.NotNull(made);
        return await app.WaitForEndAsync(client, made);
    }

    /// <summary>"symbol period start-end" of one call's query.</summary>
    private static string Asked(string query)
    {
        var values = query.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => Uri.UnescapeDataString(p[0]), p => Uri.UnescapeDataString(p.Length > 1 ? p[1] : ""));
        return $"{values["symbol"]} {values["period"]} {values["start_date"]}-{values["end_date"]}";
    }

    private async Task<List<DateOnly>> StoredAsync(string symbol)
    {
        await using var db = await app.OpenDatabaseAsync();
        var days = await db.QueryAsync<DateTime>($"SELECT `日期` FROM `{Table}` WHERE `股票代码` = @symbol AND period = 'daily' ORDER BY `日期`", new { symbol });
        return days.Select(DateOnly.FromDateTime).ToList();
    }
}
