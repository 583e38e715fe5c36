using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Scripts;

public sealed class ScriptsTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    [Fact]
    public async Task Scripts_are_registered_at_start_and_listed_with_filters_and_paging()
    {
        var (client, _, _) = await app.NewUserAsync();
        var all = (await (await client.GetAsync("/api/scripts/")).ExpectAsync(200, 0))["data"]!;
        Assert.True(all["total"]!.GetValue<long>() >= 3);
        var first = all["items"]!.AsArray().First(i => i!["script_id"]!.GetValue<string>() == "stock_zh_a_hist")!;
        Assert.Equal("A股历史行情", first["script_name"]!.GetValue<string>());
        Assert.Equal("stocks", first["category"]!.GetValue<string>());
        Assert.Equal("daily", first["frequency"]!.GetValue<string>());
        Assert.True(first["is_active"]!.GetValue<bool>());

        var macro = (await (await client.GetAsync("/api/scripts?category=macro")).ExpectAsync(200, 0))["data"]!;
        Assert.All(macro["items"]!.AsArray(), i => Assert.Equal("macro", i!["category"]!.GetValue<string>()));
        var paged = (await (await client.GetAsync("/api/scripts/?page=2&page_size=1")).ExpectAsync(200, 0))["data"]!;
        Assert.Single(paged["items"]!.AsArray());
        Assert.Equal(paged["total"]!.GetValue<long>(), paged["total_pages"]!.GetValue<int>());
        await (await client.GetAsync("/api/scripts/?page_size=500")).ExpectAsync(422, 3001);

        var categories = (await (await client.GetAsync("/api/scripts/categories")).ExpectAsync(200, 0))["data"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        Assert.Contains("stocks", categories);
        Assert.Contains("macro", categories);
        Assert.True(categories.IndexOf("stocks") < categories.IndexOf("macro"));
    }

    [Fact]
    public async Task A_script_shows_its_parameters_and_definition()
    {
        var (client, _, _) = await app.NewUserAsync();
        var script = (await (await client.GetAsync("/api/scripts/stock_zh_a_hist")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("stock_zh_a_hist", script["interface"]!.GetValue<string>());
        Assert.Equal("ak_stock_zh_a_hist", script["target_table"]!.GetValue<string>());
        Assert.Equal("upsert", script["write_mode"]!.GetValue<string>());
        var symbol = script["parameters"]!.AsArray().First(p => p!["name"]!.GetValue<string>() == "symbol")!;
        Assert.True(symbol["required"]!.GetValue<bool>());
        Assert.Equal("string", symbol["type"]!.GetValue<string>());
        var start = script["parameters"]!.AsArray().First(p => p!["name"]!.GetValue<string>() == "start_date")!;
        Assert.Equal("today-30d", start["default_value"]!.GetValue<string>());
        Assert.Equal("yyyyMMdd", start["format"]!.GetValue<string>());
        await (await client.GetAsync("/api/scripts/no_such_script")).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Scan_registers_updates_deactivates_and_reports_bad_files_without_stopping()
    {
        var admin = await app.AdminAsync();
        app.WriteScript("bonds/daily/bond_probe.json", """
            {"id": "bond_probe", "name": "债券探针", "category": "bonds", "frequency": "daily", "interface": "bond_zh_hs_daily",
             "parameters": [{"name": "symbol", "type": "string", "required": true}], "target_table": "ak_bond_probe", "write_mode": "upsert",
             "key_columns": ["symbol", "date"], "extra_columns": {"symbol": "{symbol}"}}
            """);
        app.WriteScript("bonds/daily/broken.json", "{\"id\": \"broken\", \"name\": ");
        app.WriteScript("bonds/daily/wrong_mode.json", """
            {"id": "wrong_mode", "name": "x", "category": "bonds", "frequency": "daily", "interface": "bond_zh_hs_daily",
             "target_table": "ak_x", "write_mode": "merge", "extra_columns": {"s": "{nope}"}}
            """);

        var scan = (await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, scan["registered"]!.GetValue<int>());
        Assert.True(scan["scanned"]!.GetValue<int>() >= 6);
        var errors = scan["errors"]!.AsArray();
        Assert.Contains(errors, e => e!["file"]!.GetValue<string>() == "bonds/daily/broken.json" && e["error"]!.GetValue<string>().Contains("JSON", StringComparison.Ordinal));
        var wrong = errors.Single(e => e!["file"]!.GetValue<string>() == "bonds/daily/wrong_mode.json")!["error"]!.GetValue<string>();
        Assert.Contains("write_mode", wrong, StringComparison.Ordinal);
        Assert.Contains("{nope}", wrong, StringComparison.Ordinal);

        app.WriteScript("bonds/daily/bond_probe.json", File.ReadAllText(Path.Combine(app.ScriptsFolder, "bonds/daily/bond_probe.json")).Replace("债券探针", "债券探针二", StringComparison.Ordinal));
        var changed = (await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, changed["updated"]!.GetValue<int>());
        Assert.Equal(0, changed["registered"]!.GetValue<int>());
        var client = app.CreateClient().WithToken((await app.NewUserAsync()).Tokens.AccessToken);
        Assert.Equal("债券探针二", (await (await client.GetAsync("/api/scripts/bond_probe")).ExpectAsync(200, 0))["data"]!["script_name"]!.GetValue<string>());

        File.Delete(Path.Combine(app.ScriptsFolder, "bonds/daily/bond_probe.json"));
        var removed = (await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, removed["deactivated"]!.GetValue<int>());
        var gone = (await (await client.GetAsync("/api/scripts/bond_probe")).ExpectAsync(200, 0))["data"]!;
        Assert.False(gone["is_active"]!.GetValue<bool>());
        // Its file is gone: it cannot be switched back on.
        await (await admin.PatchAsync("/api/scripts/bond_probe/toggle", null)).ExpectAsync(409, -1);

        File.Delete(Path.Combine(app.ScriptsFolder, "bonds/daily/broken.json"));
        File.Delete(Path.Combine(app.ScriptsFolder, "bonds/daily/wrong_mode.json"));
    }

    [Fact]
    public async Task Toggle_flips_a_script_and_is_for_admins_only()
    {
        var admin = await app.AdminAsync();
        var (user, _, _) = await app.NewUserAsync();
        await (await user.PatchAsync("/api/scripts/stock_news_em/toggle", null)).ExpectAsync(403, 1003);
        await (await user.PostAsync("/api/scripts/scan", null)).ExpectAsync(403, 1003);

        var off = (await (await admin.PatchAsync("/api/scripts/stock_news_em/toggle", null)).ExpectAsync(200, 0))["data"]!;
        Assert.False(off["is_active"]!.GetValue<bool>());
        Assert.Equal("stock_news_em", off["script_id"]!.GetValue<string>());
        Assert.True(off["id"]!.GetValue<long>() > 0);
        var inactive = (await (await user.GetAsync("/api/scripts/?is_active=false")).ExpectAsync(200, 0))["data"]!;
        Assert.Contains(inactive["items"]!.AsArray(), i => i!["script_id"]!.GetValue<string>() == "stock_news_em");
        var on = (await (await admin.PatchAsync("/api/scripts/stock_news_em/toggle", null)).ExpectAsync(200, 0))["data"]!;
        Assert.True(on["is_active"]!.GetValue<bool>());
        await (await admin.PatchAsync("/api/scripts/nothing_here/toggle", null)).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Testing_a_script_fetches_without_writing()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.AkTools.Rows("stock_zh_a_hist", q => Enumerable.Range(0, 25).Select(i => TestScripts.Bar(q["symbol"].ToString(), new DateOnly(2024, 5, 1).AddDays(i), 5.25 + i)));
        var result = (await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = "000002", adjust = "qfq" } })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("success", result["status"]!.GetValue<string>());
        Assert.Equal(25, result["rows_affected"]!.GetValue<long>());
        Assert.True(result["execution_time"]!.GetValue<double>() >= 0);
        Assert.Equal(10, result["sample_rows"]!.AsArray().Count);
        Assert.Equal("qfq", result["sample_rows"]![0]!["adjust"]!.GetValue<string>());
        var columns = result["columns"]!.AsArray().ToDictionary(c => c!["name"]!.GetValue<string>(), c => c!["type"]!.GetValue<string>());
        Assert.Equal("DATE", columns["日期"]);
        Assert.Equal("DOUBLE", columns["收盘"]);
        Assert.Equal("BIGINT", columns["成交量"]);

        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(0, await Dapper.SqlMapper.ExecuteScalarAsync<long>(db, "SELECT COUNT(*) FROM executions WHERE parameters LIKE '%000002%'"));

        app.AkTools.Fails("stock_zh_a_hist");
        var failed = await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = "000002" } })).ExpectAsync(502, 5003);
        Assert.Contains("HTTP 500", failed["message"]!.GetValue<string>(), StringComparison.Ordinal);
        app.AkTools.Raw("stock_zh_a_hist", "[{\"a\": ");
        var broken = await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = "000002" } })).ExpectAsync(502, 5003);
        Assert.Contains("malformed JSON", broken["message"]!.GetValue<string>(), StringComparison.Ordinal);

        await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { } })).ExpectAsync(422, 3001);
        await (await client.PostAsJsonAsync("/api/scripts/nope/test", new { parameters = new { } })).ExpectAsync(404, 2001);
    }
    [Theory]
    [InlineData("{\"symbol\": \"\\udfff\"}", "parameters.symbol")]
    [InlineData("{\"\\ud800\": 1}", "parameters")]
    public async Task Half_a_surrogate_pair_in_a_test_runs_parameters_is_a_422_naming_the_field(string parameters, string field)
    {
        var (client, _, _) = await app.NewUserAsync();
        var response = await client.PostAsync("/api/scripts/stock_zh_a_hist/test",
            new StringContent($$"""{"parameters":{{parameters}}}""", System.Text.Encoding.UTF8, "application/json"));
        var error = await response.ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);
    }
}
