using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// The parts app with a bars script keyed on three parameters (symbol through its column 股票代码, period and adjust
/// through constant columns), whose default window is 2024-01-01 to 2024-03-29.
/// </summary>
public sealed class SinceLastApp : PartsApp
{
    public const string Script = "lastday_bars_em";

    public SinceLastApp()
    {
        WriteScript($"stocks/daily/{Script}.json", BarsScript(Script, withColumn: true));
        WriteScript("stocks/daily/reshaped_bars_em.json", BarsScript("reshaped_bars_em", withColumn: true));
    }

    /// <summary>The script; without <paramref name="withColumn"/> nothing says which column holds symbol.</summary>
    public static string BarsScript(string id, bool withColumn) => $$"""
        {"id": "{{id}}", "name": "逐只续抓 {{id}}", "category": "stocks", "frequency": "daily", "interface": "{{id}}",
         "parameters": [
           {"name": "symbol", "type": "string", "required": true, "role": "key"{{(withColumn ? ", \"column\": \"股票代码\"" : "")}}},
           {"name": "period", "type": "string", "default": "daily", "allowed": ["daily", "weekly"], "role": "key"},
           {"name": "start_date", "type": "date", "format": "yyyyMMdd", "default": "20240101", "role": "range"},
           {"name": "end_date", "type": "date", "format": "yyyyMMdd", "default": "20240329", "role": "range"},
           {"name": "adjust", "type": "string", "default": "", "allowed": ["", "qfq"], "role": "key"}],
         "target_table": "ak_{{id}}", "write_mode": "upsert", "key_columns": ["股票代码", "日期", "period", "adjust"],
         "extra_columns": {"period": "{period}", "adjust": "{adjust}"} }
        """;
}

/// <summary>
/// since_last asks each part from its own last stored day, on every path that runs parts: a download (a plain value,
/// a list), a task over a table source, a script test, a retry of failed parts. Symbols are stored to different days
/// first, so a last day read across symbols (the loss of versions up to 7620b96 for downloads) leaves holes; every
/// test ends comparing each symbol's rows in MySQL with what the fake AKTools serves for it. A key parameter with no
/// column to match is refused before any call.
/// </summary>
public sealed class SinceLastPathsTests(SinceLastApp app) : IClassFixture<SinceLastApp>
{
    private const string Script = SinceLastApp.Script;
    private const string Table = "ak_" + SinceLastApp.Script;
    private static readonly DateOnly Start = new(2024, 1, 1);

    private static DateOnly Day(string yyyyMMdd) => DateOnly.ParseExact(yyyyMMdd, "yyyyMMdd", CultureInfo.InvariantCulture);

    private List<string> StartsAskedFor(string symbol) =>
        app.AkTools.Calls.Where(c => c.Function == Script && HttpUtility.ParseQueryString(c.Query)["symbol"] == symbol)
            .Select(c => HttpUtility.ParseQueryString(c.Query)["start_date"]!).ToList();

    /// <summary>
    /// Each symbol's daily, unadjusted rows in MySQL are exactly the bars the fake serves (PartsApp.ServeWindowBars:
    /// one a calendar day, closing at 10 + the day of the month) for every day from 2024-01-01 to <paramref name="to"/>:
    /// no day missing, none extra, every value as served.
    /// </summary>
    private async Task AssertEachHoldsWhatTheFakeServesAsync(string to, params string[] symbols)
    {
        await using var db = await app.OpenDatabaseAsync();
        foreach (var symbol in symbols)
        {
            var stored = (await db.QueryAsync<(string Day, double Open, double Close, double High, double Low, long Volume, double Amount)>($"""
                SELECT CAST(`日期` AS CHAR), `开盘`, `收盘`, `最高`, `最低`, `成交量`, `成交额` FROM `{Table}`
                WHERE `股票代码` = @symbol AND period = 'daily' AND adjust = '' ORDER BY `日期`
                """, new { symbol })).Select(Rounded).ToList();
            var served = new List<(string, double, double, double, double, long, double)>();
            for (var day = Start; day <= Day(to); day = day.AddDays(1))
            {
                var bar = (Dictionary<string, object?>)TestScripts.Bar(symbol, day, 10 + day.Day);
                served.Add(Rounded((day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), (double)bar["开盘"]!, (double)bar["收盘"]!,
                    (double)bar["最高"]!, (double)bar["最低"]!, (long)bar["成交量"]!, (double)bar["成交额"]!)));
            }

            Assert.True(served.SequenceEqual(stored), $"{symbol}: {stored.Count} rows stored ({stored.FirstOrDefault().Item1}..{stored.LastOrDefault().Item1}), " +
                $"{served.Count} served ({served[0].Item1}..{served[^1].Item1}); first difference: " +
                $"{served.Zip(stored).FirstOrDefault(p => p.First != p.Second)}");
        }

        static (string, double, double, double, double, long, double) Rounded((string Day, double Open, double Close, double High, double Low, long Volume, double Amount) r) =>
            (r.Day, Math.Round(r.Open, 6), Math.Round(r.Close, 6), Math.Round(r.High, 6), Math.Round(r.Low, 6), r.Volume, Math.Round(r.Amount, 4));
    }

    private async Task<JsonNode> DownloadAsync(HttpClient client, object parameters)
    {
        var run = await app.DownloadAsync(Script, parameters, 60, client);
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        return run;
    }

    /// <summary>Symbols stored from 2024-01-01 to different last days, by downloads without since_last.</summary>
    private async Task StoreAsync(HttpClient client, params (string Symbol, string To)[] stored)
    {
        foreach (var (symbol, to) in stored) await DownloadAsync(client, new { symbol, start_date = "20240101", end_date = to });
    }

    private static object SinceLast(int overlap = 0) => new { since_last = "日期", overlap_days = overlap };

    [Fact]
    public async Task A_download_asks_each_symbol_from_its_own_last_day_with_a_plain_value_and_with_a_list()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        await StoreAsync(client, ("910001", "20240131"), ("910002", "20240329"), ("910003", "20240215"));

        // The case of the report: 910001 ends on 01-31, 910002 on 03-29; 910001's download must ask from 01-31.
        await DownloadAsync(client, new { symbol = "910001", start_date = SinceLast(), end_date = "20240329" });
        Assert.Equal("20240131", StartsAskedFor("910001")[^1]);
        await AssertEachHoldsWhatTheFakeServesAsync("20240329", "910001", "910002");

        // A list, a symbol never stored among them (the script's default, 01-01), one day of overlap.
        await DownloadAsync(client, new { symbol = new { values = new[] { "910003", "910002", "910004" } }, start_date = SinceLast(1), end_date = "20240405" });
        Assert.Equal("20240214", StartsAskedFor("910003")[^1]);
        Assert.Equal("20240328", StartsAskedFor("910002")[^1]);
        Assert.Equal(["20240101"], StartsAskedFor("910004"));
        await AssertEachHoldsWhatTheFakeServesAsync("20240405", "910002", "910003", "910004");
    }

    [Fact]
    public async Task A_task_over_a_table_source_asks_each_symbol_from_its_own_last_day()
    {
        app.ServeWindowBars(Script);
        app.ServeCodes(("920001", "sh"), ("920002", "sz"), ("920003", "sh"));
        var (client, _, _) = await app.NewUserAsync();
        var codes = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, await app.ScriptTaskAsync(client, "fanout_codes_em", new { })));
        Assert.Equal("completed", codes["status"]!.GetValue<string>());
        await StoreAsync(client, ("920001", "20240110"), ("920002", "20240301"));
        // Another period and another adjust of 920001, stored later: its daily unadjusted rows still end on 01-10.
        await DownloadAsync(client, new { symbol = "920001", period = "weekly", start_date = "20240101", end_date = "20240320" });
        await DownloadAsync(client, new { symbol = "920001", adjust = "qfq", start_date = "20240101", end_date = "20240325" });

        var taskId = await app.ScriptTaskAsync(client, Script, new
        {
            symbol = new { from_table = "ak_fanout_codes_em", column = "code" },
            start_date = SinceLast(),
            end_date = "20240329",
        });
        var run = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, taskId));
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal("20240110", StartsAskedFor("920001")[^1]);
        Assert.Equal("20240301", StartsAskedFor("920002")[^1]);
        Assert.Equal(["20240101"], StartsAskedFor("920003"));
        await AssertEachHoldsWhatTheFakeServesAsync("20240329", "920001", "920002", "920003");
    }

    [Fact]
    public async Task A_script_test_asks_its_first_part_from_that_symbols_own_last_day()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        await StoreAsync(client, ("930001", "20240131"), ("930002", "20240329"));

        async Task<JsonNode> TestAsync(object symbol) =>
            (await (await client.PostAsJsonAsync($"/api/scripts/{Script}/test", new { parameters = new { symbol, start_date = SinceLast(), end_date = "20240329" } }))
                .ExpectAsync(200, 0))["data"]!;

        var plain = await TestAsync("930001");
        Assert.Equal("20240131", plain["parameters"]!["start_date"]!.GetValue<string>());
        Assert.Equal(59, plain["rows_affected"]!.GetValue<long>());
        Assert.Equal("2024-01-31T00:00:00.000", plain["sample_rows"]![0]!["日期"]!.GetValue<string>());
        var listed = await TestAsync(new { values = new[] { "930001", "930002" } });
        Assert.Equal("20240131", listed["parameters"]!["start_date"]!.GetValue<string>());

        // A test writes nothing: both keep what they held.
        await AssertEachHoldsWhatTheFakeServesAsync("20240131", "930001");
        await AssertEachHoldsWhatTheFakeServesAsync("20240329", "930002");
    }

    [Fact]
    public async Task A_retry_of_a_failed_part_asks_from_that_symbols_own_last_day_after_the_others_moved_on()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        await StoreAsync(client, ("940001", "20240131"), ("940002", "20240215"));

        app.ServeWindowBars(Script, failing: "940001");
        var started = (await (await client.PostAsJsonAsync("/api/data/download", new
        {
            interface_id = await InterfaceIdAsync(),
            parameters = new { symbol = new { values = new[] { "940001", "940002" } }, start_date = SinceLast(), end_date = "20240329" },
        })).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var failed = await app.EndAsync(client, started);
        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        // 940002 now ends on 03-29, the last day of the whole table.
        await AssertEachHoldsWhatTheFakeServesAsync("20240329", "940002");

        app.ServeWindowBars(Script);
        var retry = (await (await client.PostAsync($"/api/executions/{started}/retry", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var again = await app.EndAsync(client, retry);
        Assert.True(again["status"]!.GetValue<string>() == "completed", again.ToJsonString());
        Assert.Equal(1, again["parts_total"]!.GetValue<int>());
        Assert.Equal("20240131", StartsAskedFor("940001")[^1]);
        await AssertEachHoldsWhatTheFakeServesAsync("20240329", "940001", "940002");
    }

    [Fact]
    public async Task A_key_parameter_with_no_column_is_refused_on_every_request_and_fails_a_stored_tasks_parts_before_any_call()
    {
        // The collection tests' stock_zh_a_hist names no column for symbol (its key is 股票代码, 日期).
        var (client, _, _) = await app.NewUserAsync();
        var parameters = new { symbol = "950001", start_date = SinceLast(), end_date = "20240329" };
        long interfaceId;
        await using (var db = await app.OpenDatabaseAsync())
        {
            interfaceId = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_hist'");
        }

        static void NamesSymbol(JsonNode body) => Assert.Contains(body["detail"]!.AsArray(), e =>
            e!["field"]!.GetValue<string>() == "parameters.symbol" && e["message"]!.GetValue<string>().Contains("no column is known to hold symbol", StringComparison.Ordinal));
        NamesSymbol(await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = interfaceId, parameters })).ExpectAsync(422, 3001));
        NamesSymbol(await (await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "t", script_id = "stock_zh_a_hist", schedule_type = "cron", schedule_expression = "0 3 1 1 *", parameters,
        })).ExpectAsync(422, 3001));
        NamesSymbol(await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters })).ExpectAsync(422, 3001));
        Assert.DoesNotContain(app.AkTools.Calls, c => c.Function == "stock_zh_a_hist" && c.Query.Contains("950001", StringComparison.Ordinal));

        // A task saved while its script named the column; the script loses it: the stored task's run fails its part
        // with the reason, and nothing is asked of AKTools.
        app.ServeWindowBars("reshaped_bars_em");
        var taskId = await app.ScriptTaskAsync(client, "reshaped_bars_em", new { symbol = new { values = new[] { "950002" } }, start_date = SinceLast() });
        app.WriteScript("stocks/daily/reshaped_bars_em.json", SinceLastApp.BarsScript("reshaped_bars_em", withColumn: false));
        await (await (await app.AdminAsync()).PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0);
        var id = await PartsApp.ExecuteAsync(client, taskId);
        var run = await app.EndAsync(client, id);
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var part = Assert.Single(await PartsApp.PartsAsync(client, id, "failed"));
        Assert.Contains("no column is known to hold the key parameter symbol", part!["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(app.AkTools.Calls, c => c.Function == "reshaped_bars_em");
    }

    [Fact]
    public async Task A_run_planned_without_its_list_of_keys_is_not_retried_on_a_guess()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        await StoreAsync(client, ("960001", "20240131"));
        var run = await DownloadAsync(client, new { symbol = "960001", start_date = SinceLast(), end_date = "20240210" });
        var id = run["execution_id"]!.GetValue<string>();
        // As an earlier version planned it: the key list was not recorded (and symbol was missing from the match).
        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("""
                UPDATE executions SET parameter_sources = JSON_REMOVE(JSON_REMOVE(parameter_sources, '$.start_date.keys'), '$.start_date.match.symbol')
                WHERE execution_id = @id
                """, new { id });
        }

        var calls = StartsAskedFor("960001").Count;
        var retry = (await (await client.PostAsync($"/api/executions/{id}/retry", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var again = await app.EndAsync(client, retry);
        Assert.Equal("failed", again["status"]!.GetValue<string>());
        var part = Assert.Single(await PartsApp.PartsAsync(client, retry, "failed"));
        Assert.Contains("planned by an earlier version", part!["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(calls, StartsAskedFor("960001").Count);
        await AssertEachHoldsWhatTheFakeServesAsync("20240210", "960001");
    }

    private async Task<long> InterfaceIdAsync()
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @Script", new { Script });
    }
}
