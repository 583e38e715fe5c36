using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>The parts app with a listing of codes (code, market, 名称, 上市日期) to take table sources from.</summary>
public sealed class ListingApp : PartsApp
{
    public ListingApp() => WriteScript("stocks/weekly/fanout_listing_em.json", """
        {"id": "fanout_listing_em", "name": "上市公司列表", "category": "stocks", "frequency": "weekly", "interface": "fanout_listing_em",
         "parameters": [], "target_table": "ak_fanout_listing_em", "write_mode": "replace", "key_columns": []}
        """);

    /// <summary>Collects the listing, replacing what the table held.</summary>
    public async Task ListAsync(HttpClient client, params (string Code, string Market, string Name, string Listed)[] rows)
    {
        AkTools.Rows("fanout_listing_em", rows.Select(r => (object)new Dictionary<string, object?>
        {
            ["code"] = r.Code, ["market"] = r.Market, ["名称"] = r.Name, ["上市日期"] = r.Listed + "T00:00:00.000",
        }).ToArray());
        var run = await WaitForEndAsync(client, await ExecuteAsync(client, await ScriptTaskAsync(client, "fanout_listing_em", new { })));
        Assert.Equal("completed", run["status"]!.GetValue<string>());
    }
}

/// <summary>
/// A from_table source's filter takes the data page's operators with the data page's meaning, and a table source's
/// parts are counted against Parts:MaxParts (50 here) when the request is made and again when the run starts.
/// </summary>
public sealed class PartFiltersTests(ListingApp app) : IClassFixture<ListingApp>
{
    private static readonly (string, string, string, string)[] Listing =
    [
        ("910001", "sh", "平安银行", "2018-03-01"),
        ("910002", "sh", "招商银行", "2021-06-01"),
        ("910003", "sz", "万科A", "2021-07-01"),
        ("910004", "sh", "浦发银行", "2022-01-05"),
        ("910005", "sz", "宁波银行", "2023-02-01"),
        ("910006", "sh", "银行_A", "2023-03-01"),
        ("910007", "sh", "银行XA", "2023-03-02"),
    ];

    private async Task<List<string>> PartSymbolsAsync(HttpClient client, object filter)
    {
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em",
            new { symbol = new { from_table = "ak_fanout_listing_em", column = "code", filter }, start_date = "20240601", end_date = "20240601" });
        var id = await PartsApp.ExecuteAsync(client, taskId);
        var run = await app.EndAsync(client, id);
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        return (await PartsApp.PartsAsync(client, id)).Select(p => p!["parameters"]!["symbol"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
    }

    private static async Task<List<string>> PageCodesAsync(HttpClient client, string query) =>
        (await (await client.GetAsync($"/api/tables/ak_fanout_listing_em/data?page_size=100&{query}")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray()
            .Select(r => r!["code"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task A_range_and_a_like_filter_make_the_parts_the_data_page_filters_the_same_way()
    {
        app.ServeWindowBars("fanout_bars_em");
        var (client, _, _) = await app.NewUserAsync();
        await app.ListAsync(client, Listing);

        // sh, listed from 2020, 名称 containing 银行.
        var banks = await PartSymbolsAsync(client, new Dictionary<string, object> { ["market"] = "sh", ["上市日期"] = new { gte = "2020-01-01" }, ["名称"] = new { like = "银行" } });
        Assert.Equal(["910002", "910004", "910006", "910007"], banks);
        Assert.Equal(banks, await PageCodesAsync(client,
            "filter[market]=sh&filter[上市日期][gte]=2020-01-01&filter[名称][like]=" + Uri.EscapeDataString("银行")));

        // A closed range: two operators on one column.
        var range = await PartSymbolsAsync(client, new Dictionary<string, object> { ["上市日期"] = new { gte = "2021-06-01", lt = "2022-01-05" } });
        Assert.Equal(["910002", "910003"], range);
        Assert.Equal(range, await PageCodesAsync(client, "filter[上市日期][gte]=2021-06-01&filter[上市日期][lt]=2022-01-05"));

        // like is "contains" with _ (and %) matching themselves, as on the data page: 银行XA does not match 行_.
        var escaped = await PartSymbolsAsync(client, new Dictionary<string, object> { ["名称"] = new { like = "行_" } });
        Assert.Equal(["910006"], escaped);
        Assert.Equal(escaped, await PageCodesAsync(client, "filter[名称][like]=" + Uri.EscapeDataString("行_")));

        // eq spelled out is the same as a bare value.
        Assert.Equal(["910003", "910005"], await PartSymbolsAsync(client, new Dictionary<string, object> { ["market"] = new { eq = "sz" } }));
        // 平安银行 (sh, 2018) was in no filter's answer, so never asked for.
        Assert.DoesNotContain(app.AkTools.Calls, c => c.Function == "fanout_bars_em" && HttpUtility.ParseQueryString(c.Query)["symbol"] == "910001");
    }

    [Fact]
    public async Task An_unknown_operator_column_or_a_value_of_the_wrong_type_is_a_422_naming_the_filter()
    {
        var (client, _, _) = await app.NewUserAsync();
        await app.ListAsync(client, Listing);

        async Task<JsonNode> RefusedAsync(object filter)
        {
            var response = await client.PostAsJsonAsync("/api/tasks/", new
            {
                name = "f", script_id = "fanout_bars_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
                parameters = new { symbol = new { from_table = "ak_fanout_listing_em", column = "code", filter } },
            });
            return Assert.Single((await response.ExpectAsync(422, 3001))["detail"]!.AsArray())!;
        }

        var op = await RefusedAsync(new Dictionary<string, object> { ["名称"] = new { starts = "银" } });
        Assert.Equal("parameters.symbol.filter.名称", op["field"]!.GetValue<string>());
        Assert.Contains("eq, gt, gte, lt, lte or like", op["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var column = await RefusedAsync(new Dictionary<string, object> { ["板块"] = "主板" });
        Assert.Equal("parameters.symbol.filter.板块", column["field"]!.GetValue<string>());
        Assert.Contains("no column 板块", column["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var rangeColumn = await RefusedAsync(new Dictionary<string, object> { ["行业"] = new { gte = "a" } });
        Assert.Equal("parameters.symbol.filter.行业", rangeColumn["field"]!.GetValue<string>());

        var date = await RefusedAsync(new Dictionary<string, object> { ["上市日期"] = new { gte = "not a date" } });
        Assert.Equal("parameters.symbol.filter.上市日期", date["field"]!.GetValue<string>());

        var nested = await RefusedAsync(new Dictionary<string, object> { ["market"] = new { eq = new[] { "sh", "sz" } } });
        Assert.Equal("parameters.symbol.filter.market", nested["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_table_source_over_the_part_cap_is_a_422_when_asked_and_a_failed_run_when_the_table_grew()
    {
        app.ServeWindowBars("fanout_bars_em");
        var (client, _, _) = await app.NewUserAsync();
        // 60 codes, 30 of them sh; the cap is 50.
        await app.ListAsync(client, [.. Enumerable.Range(1, 60).Select(i => ($"93{i:D4}", i % 2 == 0 ? "sh" : "sz", "公司", "2020-01-01"))]);
        object Source(object? filter) => new { from_table = "ak_fanout_listing_em", column = "code", filter };

        static void Names(JsonNode body, string count)
        {
            var error = Assert.Single(body["detail"]!.AsArray())!;
            Assert.Equal("parameters", error["field"]!.GetValue<string>());
            var message = error["message"]!.GetValue<string>();
            Assert.Contains($"make {count} parts", message, StringComparison.Ordinal);
            Assert.Contains("at most 50", message, StringComparison.Ordinal);
        }

        async Task<HttpResponseMessage> CreateAsync(object parameters) => await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "cap", script_id = "fanout_bars_em", schedule_type = "cron", schedule_expression = "0 3 1 1 *", parameters,
        });

        Names(await (await CreateAsync(new { symbol = Source(null) })).ExpectAsync(422, 3001), "60");
        // The filter is counted with the table: 30 sh codes pass, and twice that with a second list does not.
        Names(await (await CreateAsync(new { symbol = Source(new { market = "sh" }), period = new { values = new[] { "daily", "weekly" } } })).ExpectAsync(422, 3001), "60");
        var taskId = (await (await CreateAsync(new { symbol = Source(new { market = "sh" }), start_date = "20240601", end_date = "20240601" })).ExpectAsync(201, 0))["data"]!["id"]!.GetValue<long>();

        // An update, a download and a script test are counted too.
        Names(await (await client.PutAsJsonAsync($"/api/tasks/{taskId}", new { parameters = new { symbol = Source(null) } })).ExpectAsync(422, 3001), "60");
        long interfaceId;
        await using (var db = await app.OpenDatabaseAsync())
        {
            interfaceId = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'fanout_bars_em'");
        }

        Names(await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = interfaceId, parameters = new { symbol = Source(null) } })).ExpectAsync(422, 3001), "60");
        Names(await (await client.PostAsJsonAsync("/api/scripts/fanout_bars_em/test", new { parameters = new { symbol = Source(null) } })).ExpectAsync(422, 3001), "60");
        var callsBefore = app.AkTools.Calls.Count(c => c.Function == "fanout_bars_em");

        // The table grows past the cap after the task was saved: the run counts again when it starts, and fails saying why.
        await app.ListAsync(client, [.. Enumerable.Range(1, 110).Select(i => ($"93{i:D4}", i % 2 == 0 ? "sh" : "sz", "公司", "2020-01-01"))]);

        var run = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, taskId));
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var reason = run["error_message"]!.GetValue<string>();
        Assert.Contains("make 55 parts", reason, StringComparison.Ordinal);
        Assert.Contains("55 values in ak_fanout_listing_em now", reason, StringComparison.Ordinal);
        Assert.Contains("at most 50", reason, StringComparison.Ordinal);
        Assert.Empty(await PartsApp.PartsAsync(client, run["execution_id"]!.GetValue<string>()));
        Assert.Equal(callsBefore, app.AkTools.Calls.Count(c => c.Function == "fanout_bars_em"));
    }
}
