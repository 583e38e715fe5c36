using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Common;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Tests.Parameters;

/// <summary>
/// AKTools evaluates <c>ak.f(a="value")</c> built by text replacement, so a value must never leave its string
/// literal or change on the way: each route that sends values refuses the characters that would, before anything
/// reaches AKTools, and a stored value that holds one fails its run without a call.
/// </summary>
public sealed class AkToolsArgumentsTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    /// <summary>The value of the report, then one value per refused character, with the word the 422 must use.</summary>
    public static TheoryData<string, string> Refused => new()
    {
        { "1\"if(__import__(\"pathlib\").Path(\"/tmp/x\").touch())else\"", "double quote" },
        { "600519'", "single quote" },
        { "600519\\", "backslash" },
        { "600519&period=weekly", "ampersand" },
        { "a=b", "equals sign" },
        { "600+519", "plus sign" },
        { "600519\n", "U+000A" },
        { "600\u0000519", "U+0000" },
        { "6005\u007f19", "U+007F" },
        { "600519cookie", "cookie" },
    };

    private async Task<long> InterfaceIdAsync(string name)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @name", new { name });
    }

    private int CallsTo(string function) => app.AkTools.Calls.Count(c => c.Function == function);

    private static void AssertNamesTheParameter(JsonNode body, string field, string word)
    {
        var fields = body["detail"]!.AsArray();
        var error = fields.SingleOrDefault(f => f!["field"]!.GetValue<string>() == field);
        Assert.True(error is not null, body.ToJsonString());
        Assert.Contains(word, error!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("not accepted", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_script_test_with_the_value_is_refused_before_aktools(string value, string word)
    {
        app.ServeBars();
        var before = CallsTo("stock_zh_a_hist");
        var (client, _, _) = await app.NewUserAsync();
        var body = await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = value } })).ExpectAsync(422, 3001);
        AssertNamesTheParameter(body, "parameters.symbol", word);
        Assert.Equal(before, CallsTo("stock_zh_a_hist"));
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_download_with_the_value_is_refused_before_aktools(string value, string word)
    {
        app.ServeBars();
        var before = CallsTo("stock_zh_a_hist");
        var (client, _, _) = await app.NewUserAsync();
        var body = await (await client.PostAsJsonAsync("/api/data/download",
            new { interface_id = await InterfaceIdAsync("stock_zh_a_hist"), parameters = new { symbol = value } })).ExpectAsync(422, 3001);
        AssertNamesTheParameter(body, "parameters.symbol", word);
        Assert.Equal(before, CallsTo("stock_zh_a_hist"));
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM executions WHERE parameters LIKE '%600519cookie%' OR parameters LIKE '%pathlib%'"));
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_task_with_the_value_cannot_be_created_or_updated(string value, string word)
    {
        var (client, _, _) = await app.NewUserAsync();
        var created = await (await client.PostAsJsonAsync("/api/tasks/", TaskTestKit.Daily(value, "cron", "0 18 * * 1-5"))).ExpectAsync(422, 3001);
        AssertNamesTheParameter(created, "parameters.symbol", word);

        var task = await client.CreateAsync(TaskTestKit.Daily("600519", "cron", "0 18 * * 1-5"));
        var updated = await (await client.PutAsJsonAsync($"/api/tasks/{task["id"]}", new { parameters = new { symbol = value } })).ExpectAsync(422, 3001);
        AssertNamesTheParameter(updated, "parameters.symbol", word);
        var kept = (await (await client.GetAsync($"/api/tasks/{task["id"]}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("600519", kept["parameters"]!["symbol"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_stored_task_edited_behind_the_services_back_fails_its_run_without_calling_aktools()
    {
        app.ServeBars();
        var (client, _, _) = await app.NewUserAsync();
        var task = await client.CreateAsync(TaskTestKit.Daily("600519", "cron", "0 18 * * 1-5"));
        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("UPDATE scheduled_tasks SET parameters = @p WHERE id = @id",
                new { p = """{"symbol": "1\"if(__import__(\"os\").system(\"id\"))else\""}""", id = task["id"]!.GetValue<long>() });
        }

        var before = CallsTo("stock_zh_a_hist");
        var started = (await (await client.PostAsync($"/api/tasks/{task["id"]}/execute", null)).ExpectAsync(200, 0))["data"]!;
        var run = await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var message = run["error_message"]!.GetValue<string>();
        Assert.Contains("AKTools was not called", message, StringComparison.Ordinal);
        Assert.Contains("parameters.symbol", message, StringComparison.Ordinal);
        Assert.Contains("double quote", message, StringComparison.Ordinal);
        Assert.Equal(before, CallsTo("stock_zh_a_hist"));
    }

    [Fact]
    public async Task A_script_whose_default_holds_such_a_character_is_refused_by_the_scan()
    {
        app.WriteScript("stocks/daily/bad_default.json", """
            {"id": "bad_default", "name": "坏默认值", "category": "stocks", "frequency": "daily", "interface": "stock_zh_a_hist",
             "parameters": [{"name": "symbol", "type": "string", "default": "000001\"+x+\""}], "target_table": "ak_bad_default", "write_mode": "append"}
            """);
        var admin = await app.AdminAsync();
        var scan = (await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0))["data"]!;
        var error = scan["errors"]!.AsArray().Single(e => e!["file"]!.GetValue<string>().Contains("bad_default", StringComparison.Ordinal))!;
        Assert.Contains("double quote", error["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await (await admin.GetAsync("/api/scripts/bad_default")).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task An_intraday_value_with_spaces_reaches_akshare_unchanged_sent_as_percent_20()
    {
        app.WriteScript("stocks/intraday/stock_zh_a_hist_min_em.json", """
            {"id": "stock_zh_a_hist_min_em", "name": "分钟线", "category": "stocks", "frequency": "intraday", "interface": "stock_zh_a_hist_min_em",
             "parameters": [{"name": "symbol", "type": "string", "required": true, "role": "key", "column": "代码"},
                            {"name": "start_date", "type": "string", "default": "2024-01-02 09:30:00", "role": "range"},
                            {"name": "end_date", "type": "string", "default": "2024-01-02 15:00:00", "role": "range"}],
             "target_table": "ak_stock_zh_a_hist_min_em", "write_mode": "upsert", "key_columns": ["代码", "时间"]}
            """);
        var admin = await app.AdminAsync();
        await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0);
        var received = new List<string>();
        app.AkTools.Rows("stock_zh_a_hist_min_em", q =>
        {
            lock (received) received.Add(q["start_date"].ToString());
            return [new Dictionary<string, object?> { ["时间"] = q["start_date"].ToString(), ["代码"] = q["symbol"].ToString(), ["收盘"] = 10.5 }];
        });

        var run = await app.DownloadAsync("stock_zh_a_hist_min_em", new { symbol = "000001", start_date = "2024-01-02 09:31:00" });
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal("2024-01-02 09:31:00", Assert.Single(received));
        var query = app.AkTools.Calls.Last(c => c.Function == "stock_zh_a_hist_min_em").Query;
        Assert.Contains("start_date=2024-01-02%2009%3A31%3A00", query, StringComparison.Ordinal);
        Assert.DoesNotContain("+", query, StringComparison.Ordinal);
        Assert.Contains("start_date=\"2024-01-02 09:31:00\"", app.AkTools.Expressions.Last(e => e.StartsWith("ak.stock_zh_a_hist_min_em(", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chinese_values_and_empty_values_reach_akshare_unchanged()
    {
        var seen = new List<(string Symbol, string Adjust)>();
        app.AkTools.Rows("stock_zh_a_hist", q =>
        {
            lock (seen) seen.Add((q["symbol"].ToString(), q["adjust"].ToString()));
            return [TestScripts.Bar(q["symbol"].ToString(), new DateOnly(2024, 5, 6), 9.5)];
        });
        var run = await app.DownloadAsync("stock_zh_a_hist", new { symbol = "沪深300 指数", adjust = "" });
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Contains(("沪深300 指数", ""), seen);
    }
}

/// <summary>The fake itself: it must catch what the real AKTools would get wrong, or the tests above prove nothing.</summary>
public sealed class FakeAkToolsFidelityTests : IAsyncLifetime
{
    private FakeAkTools fake = null!;
    private static readonly HttpClient Http = new();

    public async Task InitializeAsync()
    {
        fake = await FakeAkTools.StartAsync();
        fake.Rows("stock_zh_a_hist", q => [new Dictionary<string, object?> { ["symbol"] = q["symbol"].ToString() }]);
    }

    public async Task DisposeAsync()
    {
        await fake.DisposeAsync();
    }

    [Theory]
    [InlineData("symbol=1%22%2Bprint(1)%2B%22")] // the report's escape from the literal
    [InlineData("symbol=600519%26period%3Dweekly")] // a second argument smuggled in
    [InlineData("symbol=600%2B519")] // a plus sign that AKShare would get as a space
    [InlineData("symbol=600519%5C")] // a backslash escaping the closing quote
    [InlineData("symbol=mycookie&period=daily")] // cookie: the whole query becomes one argument
    public async Task A_value_that_would_not_reach_akshare_as_sent_is_a_violation_and_a_500(string query)
    {
        var response = await Http.GetAsync($"{fake.BaseUrl}/api/public/stock_zh_a_hist?{query}");
        Assert.Equal(500, (int)response.StatusCode);
        Assert.Equal("Internal Server Error", await response.Content.ReadAsStringAsync());
        Assert.Single(fake.Violations);
        Assert.Throws<Xunit.Sdk.XunitException>(fake.AssertNoViolations);
        fake.Violations.Clear();
    }

    [Fact]
    public async Task A_lone_cookie_argument_and_values_with_spaces_are_fine()
    {
        fake.Rows("stock_news_em", q => [new Dictionary<string, object?> { ["cookie"] = q["cookie"].ToString() }]);
        var cookie = await Http.GetStringAsync($"{fake.BaseUrl}/api/public/stock_news_em?cookie=a%20b");
        Assert.Equal("""[{"cookie":"a b"}]""", cookie);
        var spaced = await Http.GetStringAsync($"{fake.BaseUrl}/api/public/stock_zh_a_hist?symbol=2024-01-02%2009%3A30%3A00");
        Assert.Equal("""[{"symbol":"2024-01-02 09:30:00"}]""", spaced);
        Assert.Empty(fake.Violations);
    }

    [Fact]
    public async Task Its_answers_are_akshares_status_codes_bodies_and_content_types()
    {
        var unknown = await Http.GetAsync($"{fake.BaseUrl}/api/public/no_such_function");
        Assert.Equal(404, (int)unknown.StatusCode);
        Assert.Equal("application/json", unknown.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("{\"error\":\"未找到该接口", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        fake.NoData("macro_china_cpi");
        var none = await Http.GetAsync($"{fake.BaseUrl}/api/public/macro_china_cpi");
        Assert.Equal(404, (int)none.StatusCode);
        Assert.StartsWith("{\"error\":\"该接口返回数据为空", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        fake.Fails("macro_china_cpi");
        var raised = await Http.GetAsync($"{fake.BaseUrl}/api/public/macro_china_cpi");
        Assert.Equal(500, (int)raised.StatusCode);
        Assert.Equal("text/plain", raised.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData(100.0, "100.0")]
    [InlineData(0.30000000000000004, "0.3")]
    [InlineData(1234.123456789012, "1234.123456789")]
    [InlineData(1e-11, "0.0")]
    [InlineData(5e-11, "1e-10")]
    [InlineData(2.5e-5, "2.5e-05")]
    [InlineData(1.5e20, "1.5e+20")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(12345678901234567890.0, "1.23456789e+19")]
    [InlineData(123456789.123456789, "123456789.12345679")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(double.NaN, "null")]
    public void Floats_are_written_as_pandas_and_python_write_them(double value, string written) =>
        Assert.Equal(written, PythonJson.PythonFloat(value));

    [Fact]
    public void Dates_and_strings_are_written_as_pandas_and_python_write_them() =>
        Assert.Equal("""[{"日期":"2024-01-02T00:00:00.000","时间":"2024-01-02T09:30:00.000","名称":"平安\"银行\"\n","空":null}]""",
            PythonJson.Write(new[] { new Dictionary<string, object?> { ["日期"] = new DateOnly(2024, 1, 2), ["时间"] = new DateTime(2024, 1, 2, 9, 30, 0), ["名称"] = "平安\"银行\"\n", ["空"] = null } }));
}

/// <summary>The one rule, case by case.</summary>
public sealed class AkToolsArgumentRuleTests
{
    [Theory]
    [InlineData("000001")]
    [InlineData("2024-01-02 09:30:00")]
    [InlineData("沪深300")]
    [InlineData("")]
    [InlineData("105.MSFT")]
    [InlineData("a%20b")]
    [InlineData("🙂")]
    public void Ordinary_values_pass(string value) => Assert.Empty(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = value }));

    [Theory]
    [InlineData("\"")]
    [InlineData("'")]
    [InlineData("\\")]
    [InlineData("&")]
    [InlineData("=")]
    [InlineData("+")]
    [InlineData("\t")]
    [InlineData("\u0085")]
    [InlineData("Xcookie")]
    public void Each_refused_character_is_named_on_its_parameter(string value)
    {
        var problem = Assert.Single(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = value, ["period"] = "daily" }));
        Assert.Equal("parameters.symbol", problem.Field);
    }

    [Fact]
    public void Half_a_surrogate_pair_is_refused_and_a_whole_one_passes()
    {
        Assert.Single(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = "60" + (char)0xD800 + "0519" }));
        Assert.Single(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = "600519" + (char)0xDC00 }));
        Assert.Empty(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = "600519\ud83d\ude42" }));
    }

    [Fact]
    public void Values_too_long_for_one_request_are_refused_on_their_parameter()
    {
        Assert.Empty(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = new('9', 1000) }));
        Assert.Equal("parameters.symbol", Assert.Single(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = new('9', 1001) })).Field);
        // Each value within its limit, but 700 Chinese characters each take 6,300 bytes of query.
        Assert.Equal("parameters", Assert.Single(AkToolsArguments.Problems(new Dictionary<string, string> { ["symbol"] = new('股', 700) })).Field);
    }

    [Fact]
    public void A_lone_cookie_argument_may_carry_the_word()
    {
        Assert.Empty(AkToolsArguments.Problems(new Dictionary<string, string> { ["cookie"] = "sessioncookie" }));
        Assert.Single(AkToolsArguments.Problems(new Dictionary<string, string> { ["cookie"] = "x", ["symbol"] = "1" }));
    }

    [Theory]
    [InlineData("symbol", true)]
    [InlineData("_x1", true)]
    [InlineData("1x", false)]
    [InlineData("sym bol", false)]
    [InlineData("a=b", false)]
    [InlineData("符号", false)]
    public void Names_are_python_identifiers(string name, bool fine) => Assert.Equal(fine, AkToolsArguments.NameProblem(name) is null);
}
