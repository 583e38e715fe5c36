using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Data;

public sealed class DownloadDataTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private static readonly System.Text.Json.JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private async Task<long> InterfaceIdAsync(string name)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @name", new { name });
    }

    private async Task<JsonNode> DownloadAsync(HttpClient client, string function, object parameters)
    {
        var started = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = await InterfaceIdAsync(function), parameters })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("pending", started["status"]!.GetValue<string>());
        Assert.StartsWith("exec_", started["execution_id"]!.GetValue<string>(), StringComparison.Ordinal);
        return await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_download_writes_the_rows_with_their_chinese_columns_and_true_types()
    {
        var (client, _, _) = await app.NewUserAsync();
        var day = new DateOnly(2024, 1, 2);
        app.AkTools.Rows("stock_zh_a_hist", q => Enumerable.Range(0, 5).Select(i => TestScripts.Bar(q["symbol"].ToString(), day.AddDays(i), 10.5 + i)));

        var run = await DownloadAsync(client, "stock_zh_a_hist", new { symbol = "000001", start_date = "20240101", end_date = "2024-01-31" });
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(5, run["rows_affected"]!.GetValue<long>());
        Assert.Equal(5, run["rows_inserted"]!.GetValue<long>());
        Assert.Equal(run["rows_before"]!.GetValue<long>() + 5, run["rows_after"]!.GetValue<long>());
        Assert.Equal("download", run["triggered_by"]!.GetValue<string>());
        Assert.Equal(100, run["progress"]!.GetValue<int>());

        var call = app.AkTools.Calls.Last(c => c.Function == "stock_zh_a_hist").Query;
        Assert.Contains("symbol=000001", call, StringComparison.Ordinal);
        Assert.Contains("end_date=20240131", call, StringComparison.Ordinal);
        Assert.Contains("period=daily", call, StringComparison.Ordinal);

        await using var db = await app.OpenDatabaseAsync();
        var types = (await db.QueryAsync<(string Name, string Type)>(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_zh_a_hist'"))
            .ToDictionary(c => c.Name, c => c.Type);
        Assert.Equal("date", types["日期"]);
        Assert.Equal("double", types["收盘"]);
        Assert.Equal("bigint(20)", types["成交量"].Replace("bigint", "bigint(20)", StringComparison.Ordinal).Replace("(20)(20)", "(20)", StringComparison.Ordinal));
        Assert.StartsWith("varchar", types["股票代码"], StringComparison.Ordinal);
        Assert.Contains("_execution_id", types.Keys);
        var closes = (await db.QueryAsync<(DateTime Day, double Close, string Code, double? Turnover)>(
            "SELECT `日期`, `收盘`, `股票代码`, `换手率` FROM ak_stock_zh_a_hist WHERE `股票代码` = '000001' ORDER BY `日期`")).ToList();
        Assert.Equal(new DateTime(2024, 1, 2), closes[0].Day);
        Assert.Equal(10.5, closes[0].Close);
        Assert.Equal("000001", closes[0].Code);
        Assert.Null(closes[0].Turnover);

        var result = (await (await client.GetAsync($"/api/data/download/{run["execution_id"]}/result")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("completed", result["status"]!.GetValue<string>());
        Assert.Equal("ak_stock_zh_a_hist", result["table_name"]!.GetValue<string>());
        Assert.Equal(5, result["rows_affected"]!.GetValue<long>());
        Assert.True(result["execution_time"]!.GetValue<double>() >= 0);
        var status = (await (await client.GetAsync($"/api/data/download/{run["execution_id"]}/status")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(100, status["progress"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_same_download_twice_adds_nothing_and_updates_changed_values()
    {
        var (client, _, _) = await app.NewUserAsync();
        var day = new DateOnly(2024, 3, 1);
        var close = 29.5;
        app.AkTools.Rows("stock_zh_a_hist", q => Enumerable.Range(0, 10).Select(i => TestScripts.Bar(q["symbol"].ToString(), day.AddDays(i), i == 9 ? close : 20.5 + i)));

        var first = await DownloadAsync(client, "stock_zh_a_hist", new { symbol = "600519" });
        var again = await DownloadAsync(client, "stock_zh_a_hist", new { symbol = "600519" });
        Assert.Equal(10, first["rows_affected"]!.GetValue<long>());
        Assert.Equal("completed", again["status"]!.GetValue<string>());
        Assert.Equal(0, again["rows_affected"]!.GetValue<long>());
        Assert.Equal(again["rows_before"]!.GetValue<long>(), again["rows_after"]!.GetValue<long>());

        close = 99.5; // the last day's bar was revised upstream
        var revised = await DownloadAsync(client, "stock_zh_a_hist", new { symbol = "600519" });
        Assert.Equal(1, revised["rows_affected"]!.GetValue<long>());
        Assert.Equal(1, revised["rows_updated"]!.GetValue<long>());
        Assert.Equal(revised["rows_before"]!.GetValue<long>(), revised["rows_after"]!.GetValue<long>());
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(10, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_hist WHERE `股票代码` = '600519'"));
        Assert.Equal(99.5, await db.ExecuteScalarAsync<double>("SELECT `收盘` FROM ak_stock_zh_a_hist WHERE `股票代码` = '600519' AND `日期` = '2024-03-10'"));
        Assert.Equal(revised["execution_id"]!.GetValue<string>(),
            await db.ExecuteScalarAsync<string>("SELECT _execution_id FROM ak_stock_zh_a_hist WHERE `股票代码` = '600519' AND `日期` = '2024-03-10'"));
    }

    [Fact]
    public async Task A_column_that_appears_later_is_added_and_a_growing_one_is_widened()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.AkTools.Rows("macro_cnbs", new Dictionary<string, object?> { ["年份"] = "1993-12", ["居民部门"] = 8.3, ["备注"] = "短" });
        var first = await DownloadAsync(client, "macro_cnbs", new { });
        Assert.True(first["status"]!.GetValue<string>() == "completed", first.ToJsonString());

        app.AkTools.Rows("macro_cnbs",
            new Dictionary<string, object?> { ["年份"] = "1993-12", ["居民部门"] = 8.3, ["备注"] = "短" },
            new Dictionary<string, object?> { ["年份"] = "1994-12", ["居民部门"] = 7.8, ["备注"] = new string('长', 300), ["政府部门"] = 20.1 });
        var second = await DownloadAsync(client, "macro_cnbs", new { });
        Assert.Equal("completed", second["status"]!.GetValue<string>());
        Assert.Equal(1, second["rows_affected"]!.GetValue<long>());
        Assert.Equal(1, second["result"]!["columns_added"]!.GetValue<int>());

        await using var db = await app.OpenDatabaseAsync();
        var rows = (await db.QueryAsync<(string Year, double? Government, string Note)>("SELECT `年份`, `政府部门`, `备注` FROM ak_macro_cnbs ORDER BY `年份`")).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Null(rows[0].Government);
        Assert.Equal(20.1, rows[1].Government);
        Assert.Equal(300, rows[1].Note.Length);
    }

    [Fact]
    public async Task Hostile_column_names_and_values_are_stored_exactly()
    {
        var (client, _, _) = await app.NewUserAsync();
        var longName = string.Concat(Enumerable.Repeat("很长的列名", 40)); // 200 characters
        var row = new Dictionary<string, object?>
        {
            ["a'b"] = "it's",
            ["c`d"] = "back`tick",
            ["e; DROP TABLE users; --"] = "; DROP TABLE users; --",
            [longName] = 1,
            ["价格💹"] = "涨📈",
            ["id"] = 42,
            ["Close"] = 1.5,
            ["close"] = 2.5,
            ["大整数"] = 0, // replaced below by a literal beyond 64 bits
            ["嵌套"] = new { a = 1, b = new[] { 1, 2 } },
        };
        var json = System.Text.Json.JsonSerializer.Serialize(new[] { row }, Relaxed).Replace("\"大整数\":0", "\"大整数\":123456789012345678901234567890", StringComparison.Ordinal);
        app.AkTools.Raw("hostile_fn", json);

        var run = await DownloadAsync(client, "hostile_fn", new { level = 3 });
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Contains("level=3", app.AkTools.Calls.Last(c => c.Function == "hostile_fn").Query, StringComparison.Ordinal);

        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE username = 'admin'"));
        var columns = (await db.QueryAsync<(string Name, string Comment)>(
            "SELECT COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_hostile_fn'")).ToList();
        // Data columns keep their AKShare name in the comment (JSON-escaped behind "json:" when MySQL cannot hold it).
        string SqlName(string original) => columns.Single(c => c.Comment == original
            || (c.Comment.StartsWith("json:", StringComparison.Ordinal) && System.Text.Json.JsonSerializer.Deserialize<string>(c.Comment[5..]) == original)).Name;

        async Task<T> ValueAsync<T>(string original) =>
            (await db.ExecuteScalarAsync<T>($"SELECT `{SqlName(original).Replace("`", "``", StringComparison.Ordinal)}` FROM ak_hostile_fn"))!;
        Assert.Equal("it's", await ValueAsync<string>("a'b"));
        Assert.Equal("back`tick", await ValueAsync<string>("c`d"));
        Assert.Equal("; DROP TABLE users; --", await ValueAsync<string>("e; DROP TABLE users; --"));
        Assert.Equal(1, await ValueAsync<long>(longName));
        Assert.True(SqlName(longName).Length <= 64);
        Assert.Equal("涨📈", await ValueAsync<string>("价格💹"));
        Assert.NotEqual("id", SqlName("id"));
        Assert.Equal(42, await ValueAsync<long>("id"));
        Assert.NotEqual(SqlName("Close"), SqlName("close"));
        Assert.Equal(1.5, await ValueAsync<double>("Close"));
        Assert.Equal(2.5, await ValueAsync<double>("close"));
        // Beyond 64 bits (and beyond .NET's decimal): DECIMAL(65,0), exact to the last digit.
        Assert.Equal("123456789012345678901234567890",
            await db.ExecuteScalarAsync<string>($"SELECT CAST(`{SqlName("大整数")}` AS CHAR) FROM ak_hostile_fn"));
        var nested = JsonNode.Parse(await ValueAsync<string>("嵌套"))!;
        Assert.Equal(2, nested["b"]![1]!.GetValue<int>());

        // The same hostile answer again maps every name to the same column and adds nothing.
        var again = await DownloadAsync(client, "hostile_fn", new { level = 3 });
        Assert.Equal(0, again["rows_affected"]!.GetValue<long>());
        Assert.Equal(0, again["result"]!["columns_added"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("{\"symbol\": \"000001\", \"foo\": 1}", "parameters.foo")]
    [InlineData("{}", "parameters.symbol")]
    [InlineData("{\"symbol\": 1}", "parameters.symbol")]
    [InlineData("{\"symbol\": \"000001\", \"period\": \"hourly\"}", "parameters.period")]
    [InlineData("{\"symbol\": \"000001\", \"start_date\": \"Jan 1\"}", "parameters.start_date")]
    [InlineData("{\"symbol\": \"\\ud800\"}", "parameters.symbol")]
    [InlineData("{\"symbol\": \"000001\", \"\\ud800\": \"x\"}", "parameters")]
    public async Task Parameters_are_checked_against_the_interface_with_a_422_naming_the_parameter(string parameters, string field)
    {
        var (client, _, _) = await app.NewUserAsync();
        var body = $"{{\"interface_id\": {await InterfaceIdAsync("stock_zh_a_hist")}, \"parameters\": {parameters}}}";
        var response = await client.PostAsync("/api/data/download", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var error = await response.ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);
    }

    [Fact]
    public async Task A_value_too_long_for_aktools_is_a_422_and_aktools_is_not_called()
    {
        var (client, _, _) = await app.NewUserAsync();
        var calls = app.AkTools.Calls.Count;
        var response = await client.PostAsJsonAsync("/api/data/download",
            new { interface_id = await InterfaceIdAsync("stock_zh_a_hist"), parameters = new { symbol = new string('0', 100_000) } });
        var error = await response.ExpectAsync(422, 3001);
        Assert.Equal("parameters.symbol", Assert.Single(error["detail"]!.AsArray())!["field"]!.GetValue<string>());
        Assert.Equal(calls, app.AkTools.Calls.Count);
    }

    [Fact]
    public async Task Unknown_interfaces_and_executions_are_404()
    {
        var (client, _, _) = await app.NewUserAsync();
        await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = 999999, parameters = new { } })).ExpectAsync(404, 2001);
        await (await client.PostAsJsonAsync("/api/data/download", new { parameters = new { } })).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/data/download/exec_nope/status")).ExpectAsync(404, 2001);
        await (await client.GetAsync("/api/data/download/exec_nope/result")).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task A_download_may_name_the_interface_by_its_name_or_a_data_script_instead_of_an_id()
    {
        var (client, _, _) = await app.NewUserAsync();
        var day = new DateOnly(2024, 5, 6);
        app.AkTools.Rows("stock_zh_a_hist", q => Enumerable.Range(0, 3).Select(i => TestScripts.Bar(q["symbol"].ToString(), day.AddDays(i), 7.5 + i)));

        foreach (var (body, symbol) in new[]
        {
            ((object)new { interface_name = "stock_zh_a_hist", parameters = new { symbol = "300001", start_date = "20240501", end_date = "20240531" } }, "300001"),
            (new { script_id = "stock_zh_a_hist", parameters = new { symbol = "300002", start_date = "20240501", end_date = "20240531" } }, "300002"),
        })
        {
            var started = (await (await client.PostAsJsonAsync("/api/data/download", body)).ExpectAsync(200, 0))["data"]!;
            Assert.Equal("ak_stock_zh_a_hist", started["table_name"]!.GetValue<string>());
            var run = await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
            Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
            Assert.Equal(3, run["rows_inserted"]!.GetValue<long>());
            Assert.Contains($"symbol={symbol}", app.AkTools.Calls.Last(c => c.Function == "stock_zh_a_hist").Query, StringComparison.Ordinal);
        }

        // By script_id, what the request leaves out is the script's default.
        var byScript = (await (await client.PostAsJsonAsync("/api/data/download", new { script_id = "stock_zh_a_hist", parameters = new { symbol = "300003" } })).ExpectAsync(200, 0))["data"]!;
        var view = await app.WaitForEndAsync(client, byScript["execution_id"]!.GetValue<string>());
        Assert.Equal("stock_zh_a_hist", view["script_id"]?.GetValue<string>());
        Assert.Contains("period=daily", app.AkTools.Calls.Last(c => c.Function == "stock_zh_a_hist").Query, StringComparison.Ordinal);

        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_hist WHERE `股票代码` = '300002'"));
    }

    [Theory]
    [InlineData("{\"parameters\": {}}", "interface_id,script_id,interface_name")]
    [InlineData("{\"interface_id\": 1, \"script_id\": \"stock_zh_a_hist\"}", "interface_id,script_id")]
    [InlineData("{\"script_id\": \"stock_zh_a_hist\", \"interface_name\": \"stock_zh_a_hist\"}", "script_id,interface_name")]
    [InlineData("{\"interface_id\": 1, \"script_id\": \"a\", \"interface_name\": \"b\"}", "interface_id,script_id,interface_name")]
    [InlineData("{\"interface_name\": \"\"}", "interface_name")]
    public async Task Naming_the_interface_in_none_or_several_ways_is_a_422_naming_the_fields(string body, string fields)
    {
        var (client, _, _) = await app.NewUserAsync();
        var error = await (await client.PostAsync("/api/data/download", new StringContent(body, System.Text.Encoding.UTF8, "application/json"))).ExpectAsync(422, 3001);
        Assert.Equal(fields.Split(','), error["detail"]!.AsArray().Select(d => d!["field"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_unknown_interface_name_or_script_is_404()
    {
        var (client, _, _) = await app.NewUserAsync();
        var calls = app.AkTools.Calls.Count;
        var name = await (await client.PostAsJsonAsync("/api/data/download", new { interface_name = "stock_zh_a_nope", parameters = new { } })).ExpectAsync(404, 2001);
        Assert.Equal("interface not found", name["message"]!.GetValue<string>());
        var script = await (await client.PostAsJsonAsync("/api/data/download", new { script_id = "nope", parameters = new { } })).ExpectAsync(404, 2001);
        Assert.Equal("script not found", script["message"]!.GetValue<string>());
        Assert.Equal(calls, app.AkTools.Calls.Count);
    }

    [Fact]
    public async Task A_download_of_a_deactivated_script_is_a_422_naming_script_id()
    {
        await app.AddBarsScriptAsync("download_paused_bars", "停用的日线");
        var admin = await app.AdminAsync();
        var toggled = await (await admin.PatchAsync("/api/scripts/download_paused_bars/toggle", null)).ExpectAsync(200, 0);
        Assert.False(toggled["data"]!["is_active"]!.GetValue<bool>());

        var (client, _, _) = await app.NewUserAsync();
        var error = await (await client.PostAsJsonAsync("/api/data/download", new { script_id = "download_paused_bars", parameters = new { symbol = "000001" } })).ExpectAsync(422, 3001);
        Assert.Equal("script_id", Assert.Single(error["detail"]!.AsArray())!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Another_users_download_is_not_visible()
    {
        var (owner, _, _) = await app.NewUserAsync();
        var (stranger, _, _) = await app.NewUserAsync();
        app.AkTools.Rows("macro_cnbs", new Dictionary<string, object?> { ["年份"] = "2001-12", ["居民部门"] = 1.0 });
        var run = await DownloadAsync(owner, "macro_cnbs", new { });
        await (await stranger.GetAsync($"/api/data/download/{run["execution_id"]}/status")).ExpectAsync(404, 2001);
        var admin = await app.AdminAsync();
        await (await admin.GetAsync($"/api/data/download/{run["execution_id"]}/status")).ExpectAsync(200, 0);
    }
}
