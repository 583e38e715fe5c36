using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Collection;

public sealed class ShortTimeoutApp : CollectingApp
{
    public ShortTimeoutApp() => Set("AkTools:TimeoutSeconds", "1");
}

/// <summary>What AKTools can do wrong, and what the execution then says: never "completed" for a failed fetch.</summary>
public sealed class AkToolsFailureTests(ShortTimeoutApp app) : IClassFixture<ShortTimeoutApp>
{
    [Fact]
    public async Task An_exception_inside_akshare_is_the_upstream_site_failing_and_is_retried_then_reported()
    {
        app.AkTools.Fails("macro_cnbs");
        var before = app.AkTools.Calls.Count(c => c.Function == "macro_cnbs");
        var run = await app.DownloadAsync("macro_cnbs");
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var message = run["error_message"]!.GetValue<string>();
        Assert.Contains("upstream site", message, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", message, StringComparison.Ordinal);
        // AkTools:MaxRetries is 2 in the test app: the first try and two retries.
        Assert.Contains("3 tries", message, StringComparison.Ordinal);
        Assert.Equal(3, app.AkTools.Calls.Count(c => c.Function == "macro_cnbs") - before);
    }

    [Fact]
    public async Task A_500_that_clears_on_a_retry_completes_the_run()
    {
        app.AkTools.FailsThenRows("macro_cnbs", 1, new Dictionary<string, object?> { ["年份"] = "2024", ["杠杆率"] = 301.5 });
        var run = await app.DownloadAsync("macro_cnbs");
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(1, run["rows_fetched"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_keyerror_inside_akshare_fails_at_once_with_akshares_words()
    {
        app.AkTools.KeyError("hostile_fn", "data");
        var before = app.AkTools.Calls.Count(c => c.Function == "hostile_fn");
        var run = await app.DownloadAsync("hostile_fn", new { level = 1 });
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var message = run["error_message"]!.GetValue<string>();
        Assert.Contains("refused the parameters", message, StringComparison.Ordinal);
        Assert.Contains("请输入正确的参数错误 'data'", message, StringComparison.Ordinal);
        Assert.Equal(1, app.AkTools.Calls.Count(c => c.Function == "hostile_fn") - before);
    }

    [Fact]
    public async Task Gateway_errors_are_retried_and_then_reported()
    {
        app.AkTools.Raw("stock_zh_a_spot_em", "bad gateway", 502, "text/plain");
        var before = app.AkTools.Calls.Count(c => c.Function == "stock_zh_a_spot_em");
        var run = await app.DownloadAsync("stock_zh_a_spot_em");
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Contains("502", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(3, app.AkTools.Calls.Count(c => c.Function == "stock_zh_a_spot_em") - before);
    }

    [Fact]
    public async Task A_slow_answer_times_out_and_says_so()
    {
        app.AkTools.Delay("stock_zh_a_spot_em", TimeSpan.FromSeconds(5), new Dictionary<string, object?> { ["代码"] = "000001" });
        var run = await app.DownloadAsync("stock_zh_a_spot_em");
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Contains("did not answer", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_json_fails_the_run_and_writes_nothing()
    {
        app.AkTools.Raw("hostile_fn", "[{\"a\": 1}, {\"a\": 2,,}]");
        var run = await app.DownloadAsync("hostile_fn", new { level = 1 });
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Contains("malformed JSON", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, run["rows_affected"]!.GetValue<long>());

        app.AkTools.Raw("hostile_fn", "<html>proxy error</html>", 200, "text/html");
        var html = await app.DownloadAsync("hostile_fn", new { level = 1 });
        Assert.Equal("failed", html["status"]!.GetValue<string>());
        Assert.Contains("not JSON", html["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_dataframe_completes_with_no_rows()
    {
        app.AkTools.Rows("macro_china_cpi");
        var empty = await app.DownloadAsync("macro_china_cpi");
        Assert.Equal("completed", empty["status"]!.GetValue<string>());
        Assert.Equal(0, empty["rows_affected"]!.GetValue<long>());
        Assert.Contains("0 rows", empty["result"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_function_that_returned_none_completes_with_no_rows_and_says_akshare_had_no_data()
    {
        app.AkTools.NoData("macro_china_cpi");
        var before = app.AkTools.Calls.Count(c => c.Function == "macro_china_cpi");
        var said = await app.DownloadAsync("macro_china_cpi");
        Assert.Equal("completed", said["status"]!.GetValue<string>());
        Assert.Null(said["error_message"]);
        Assert.Contains("AKShare had no data", said["result"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, app.AkTools.Calls.Count(c => c.Function == "macro_china_cpi") - before);
    }

    [Fact]
    public async Task An_unknown_function_fails_at_once_saying_akshare_lacks_it()
    {
        // stock_news_em is in the catalogue (a script uses it) but this AKTools does not know it: its 404.
        var before = app.AkTools.Calls.Count(c => c.Function == "stock_news_em");
        var run = await app.DownloadAsync("stock_news_em", new { symbol = "300059" });
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var message = run["error_message"]!.GetValue<string>();
        Assert.Contains("has no interface stock_news_em", message, StringComparison.Ordinal);
        Assert.Contains("upgrade AKShare", message, StringComparison.Ordinal);
        Assert.Contains("未找到该接口", message, StringComparison.Ordinal);
        Assert.Equal(1, app.AkTools.Calls.Count(c => c.Function == "stock_news_em") - before);
    }

    [Fact]
    public async Task A_proxys_html_page_is_not_made_part_of_the_message()
    {
        app.AkTools.Raw("macro_cnbs", "<html><body><h1>414 Request-URI Too Large</h1>" + new string('x', 5000) + "</body></html>", 414, "text/html");
        var run = await app.DownloadAsync("macro_cnbs");
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var message = run["error_message"]!.GetValue<string>();
        Assert.Contains("HTTP 414", message, StringComparison.Ordinal);
        Assert.DoesNotContain("<html>", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_aktools_is_named()
    {
        await using var stopped = await FakeAkTools.StartAsync();
        var address = stopped.BaseUrl;
        await stopped.DisposeAsync();
        await using var other = new UnreachableApp(address);
        await other.InitializeAsync();
        var client = (await other.NewUserAsync()).Client;
        await using var db = await other.OpenDatabaseAsync();
        var id = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'macro_china_cpi'");
        var started = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = id, parameters = new { } })).ExpectAsync(200, 0))["data"]!;
        var run = await other.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Contains("unreachable", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        await ((IAsyncLifetime)other).DisposeAsync();
    }

    private sealed class UnreachableApp : CollectingApp
    {
        private readonly string address;

        public UnreachableApp(string address) => this.address = address;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            Set("AkTools:BaseUrl", address);
        }
    }
}

/// <summary>Big answers: streamed, written in batches, with progress that moves.</summary>
public sealed class LargeAnswerTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    [Fact]
    public async Task A_150k_row_answer_is_written_whole_with_progress_that_moves()
    {
        var start = new DateOnly(2000, 1, 1);
        app.AkTools.Generate("stock_zh_a_hist", 150_000, i =>
            $"{{\"日期\":\"{start.AddDays((int)(i % 5000)):yyyy-MM-dd}T00:00:00.000\",\"股票代码\":\"{i / 5000:D6}\",\"开盘\":{10 + (i % 97) / 10.0:0.00},\"收盘\":{10.5 + (i % 89) / 10.0:0.00},\"成交量\":{1000 + i},\"换手率\":null}}",
            pauseEvery: 30_000, pause: TimeSpan.FromMilliseconds(400), withLength: true);
        var client = (await app.NewUserAsync()).Client;
        await using var db = await app.OpenDatabaseAsync();
        var id = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_hist'");
        var started = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = id, parameters = new { symbol = "bulk" } })).ExpectAsync(200, 0))["data"]!;
        var executionId = started["execution_id"]!.GetValue<string>();

        var seen = new List<int>();
        var deadline = Deadline.In(90);
        JsonNode status;
        do
        {
            status = (await (await client.GetAsync($"/api/data/download/{executionId}/status")).ExpectAsync(200, 0))["data"]!;
            seen.Add(status["progress"]!.GetValue<int>());
            await Task.Delay(100);
        }
        while (status["status"]!.GetValue<string>() is "pending" or "running" && !deadline.Passed);

        Assert.Equal("completed", status["status"]!.GetValue<string>());
        Assert.Contains(seen, p => p is > 0 and < 100);
        Assert.True(seen.SequenceEqual(seen.Order()), "progress never goes back: " + string.Join(",", seen.Distinct()));
        Assert.Equal(150_000, status["rows_affected"]!.GetValue<long>());
        Assert.Equal(150_000, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_hist"));
        Assert.Equal(30, await db.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT `股票代码`) FROM ak_stock_zh_a_hist"));
    }
}
