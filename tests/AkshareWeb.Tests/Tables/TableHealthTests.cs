using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Tables;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using static AkshareWeb.Tests.Tables.CoverageApp;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// The coverage app (bundled calendar, clock at 2024-06-14 16:00 Beijing time) with bar scripts of its own whose fake
/// upstream serves, per symbol, exactly the rows a test gave it: clean ones, and ones breaking each rule.
/// </summary>
public sealed class HealthApp : CoverageApp
{
    public const string Bars = "ak_health_bars";
    public const string Declared = "ak_health_declared";
    public const string Plain = "ak_health_plain";

    private readonly ConcurrentDictionary<(string Function, string Symbol), object[]> held = new();

    public HealthApp()
    {
        foreach (var (id, extra) in new[] { ("health_bars", ""), ("health_plain", ""),
            ("health_declared", """, "bar_columns": {"open": "px_open", "high": "px_high", "low": "px_low", "close": "px_close", "volume": "qty"}""") })
        {
            WriteScript($"stocks/daily/{id}.json", $$"""
                {"id": "{{id}}", "name": "{{id}}", "category": "stocks", "frequency": "daily", "interface": "{{id}}",
                 "parameters": [{"name": "symbol", "type": "string", "required": true, "column": "股票代码"}],
                 "target_table": "ak_{{id}}", "write_mode": "upsert", "key_columns": ["股票代码", "日期"]{{extra}}}
                """);
        }
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        foreach (var function in new[] { "health_bars", "health_plain", "health_declared" })
        {
            AkTools.Rows(function, query => held.GetValueOrDefault((function, query["symbol"].ToString()), []));
        }
    }

    /// <summary>Has the upstream hold <paramref name="rows"/> for the symbol and collects them by one download.</summary>
    public async Task CollectAsync(HttpClient client, string function, string symbol, params object[] rows)
    {
        held[(function, symbol)] = rows;
        var run = await DownloadAsync(function, new { symbol }, client: client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());
    }

    /// <summary>A bar as AKTools writes stock_zh_a_hist's (NaN as null).</summary>
    public static object Bar(string symbol, string day, double? open, double? high, double? low, double? close, long volume = 1000) => new Dictionary<string, object?>
    {
        ["日期"] = day + "T00:00:00.000", ["股票代码"] = symbol, ["开盘"] = open, ["收盘"] = close, ["最高"] = high, ["最低"] = low, ["成交量"] = volume,
    };

    /// <summary>A clean bar around <paramref name="close"/>.</summary>
    public static object Good(string symbol, string day, double close, long volume = 1000) => Bar(symbol, day, close - 0.1, close + 0.2, close - 0.3, close, volume);
}

/// <summary>
/// Health checks against the real database: each rule finds the rows that break it, clean rows give none, the check
/// after a run looks at the rows it wrote and still sees the close before them, and the on-demand check is ranged,
/// paged and narrowed by rule.
/// </summary>
public sealed class TableHealthTests(HealthApp app) : IClassFixture<HealthApp>
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);
    private static readonly HashSet<string> Seeded = [];

    /// <summary>000001 clean from 05-06 to 06-14; 000002 with one bad row per rule (two off the calendar).</summary>
    private async Task<HttpClient> SeededAsync()
    {
        var (client, _, _) = await app.NewUserAsync();
        await OneAtATime.WaitAsync();
        try
        {
            if (Seeded.Add(app.ConnectionString))
            {
                await app.CollectAsync(client, "health_bars", "000001",
                    Trading("2024-05-06", "2024-06-14").Select((d, i) => HealthApp.Good("000001", Text(d), 10 + i * 0.01)).ToArray());
                await app.CollectAsync(client, "health_bars", "000002",
                    HealthApp.Good("000002", "2024-05-06", 10),
                    HealthApp.Bar("000002", "2024-05-07", 9.9, 10.2, 9.7, null),
                    HealthApp.Bar("000002", "2024-05-08", 10, 10.2, 0, 10),
                    HealthApp.Bar("000002", "2024-05-09", 10, 9, 11, 10),
                    HealthApp.Bar("000002", "2024-05-10", 10, 10.4, 9.8, 12),
                    HealthApp.Bar("000002", "2024-05-13", 10, 10.2, 9.8, 10),
                    HealthApp.Good("000002", "2024-05-14", 16),
                    HealthApp.Good("000002", "2024-05-15", 16, volume: 0),
                    HealthApp.Good("000002", "2024-05-18", 16),
                    HealthApp.Good("000002", "2024-06-10", 16),
                    HealthApp.Good("000002", "2024-06-17", 16));
            }
        }
        finally
        {
            OneAtATime.Release();
        }

        return client;
    }

    private static string Text(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static async Task<JsonNode> HealthAsync(HttpClient client, string query, string table = HealthApp.Bars) =>
        (await (await client.GetAsync($"/api/tables/{table}/health{query}")).ExpectAsync(200, 0))["data"]!;

    private static List<string> Findings(JsonNode health, string? symbol = null) => health["items"]!.AsArray()
        .Where(f => symbol is null || f!["key"]!["股票代码"]!.GetValue<string>() == symbol)
        .Select(f => $"{f!["key"]!["股票代码"]} {f["date"]} {f["rule"]} {f["column"]} {f["value"]} {f["compared_with"]}".TrimEnd())
        .ToList();

    [Fact]
    public async Task Each_rule_finds_the_rows_that_break_it_and_clean_rows_give_none()
    {
        var client = await SeededAsync();
        var health = await HealthAsync(client, "?page_size=100");

        Assert.Equal("日期", health["date_column"]!.GetValue<string>());
        Assert.Equal("names", health["columns"]!["source"]!.GetValue<string>());
        Assert.Equal("收盘", health["columns"]!["close"]!.GetValue<string>());
        Assert.Equal("成交量", health["columns"]!["volume"]!.GetValue<string>());
        Assert.Equal(0.5, health["move_limit"]!.GetValue<double>());
        Assert.NotNull(health["checked_at"]);
        Assert.Empty(Findings(health, "000001"));
        Assert.Equal([
            "000002 2024-05-07 missing_price 收盘",
            "000002 2024-05-08 non_positive_price 最低 0",
            "000002 2024-05-09 high_below_low 最高 9 11",
            "000002 2024-05-10 outside_range 收盘 12 9.8..10.4",
            "000002 2024-05-14 large_move 收盘 16 10",
            "000002 2024-05-15 zero_volume 成交量 0",
            "000002 2024-05-18 non_trading_day 日期 2024-05-18",
            "000002 2024-06-10 non_trading_day 日期 2024-06-10",
            "000002 2024-06-17 future_date 日期 2024-06-17",
        ], Findings(health, "000002"));

        // Every rule counted, as many as listed (other tests' symbols included).
        var counts = health["counts"]!;
        Assert.Equal(HealthRules.All.Order(), counts.AsObject().Select(c => c.Key).Order());
        foreach (var rule in HealthRules.All)
        {
            Assert.Equal(health["items"]!.AsArray().Count(f => f!["rule"]!.GetValue<string>() == rule), counts[rule]!.GetValue<long>());
        }

        // The table's detail counts the same, from the same check.
        var detail = (await (await client.GetAsync($"/api/tables/{HealthApp.Bars}")).ExpectAsync(200, 0))["data"]!["health"]!;
        Assert.Equal(health["total"]!.GetValue<long>(), detail["findings"]!.GetValue<long>());
        foreach (var rule in HealthRules.All) Assert.Equal(counts[rule]!.GetValue<long>(), detail["counts"]![rule]!.GetValue<long>());
    }

    [Fact]
    public async Task The_check_after_a_run_looks_at_the_rows_it_wrote_and_the_close_before_them()
    {
        var client = await SeededAsync();
        await app.CollectAsync(client, "health_bars", "000003",
            Trading("2024-05-06", "2024-05-31").Select(d => HealthApp.Good("000003", Text(d), 10)).ToArray());
        // The next run writes two days only; the first has no volume and is 60 % above the last stored close.
        await app.CollectAsync(client, "health_bars", "000003", HealthApp.Good("000003", "2024-06-03", 16, volume: 0), HealthApp.Good("000003", "2024-06-04", 16));

        // Read from the store, without asking the endpoint (which would check by itself).
        var found = await TaskTestKit.EventuallyAsync(async () =>
        {
            await using var db = await app.OpenDatabaseAsync();
            return (await db.QueryAsync<(string Day, string Rule, string? Value, string? ComparedWith)>("""
                SELECT DATE_FORMAT(day, '%Y-%m-%d'), rule, value, compared_with FROM table_health_findings
                WHERE table_name = @table AND JSON_VALUE(key_values, '$."股票代码"') = '000003' ORDER BY day, rule
                """, new { table = HealthApp.Bars })).ToList();
        }, rows => rows.Count >= 2);
        Assert.Equal([("2024-06-03", "large_move", "16", "10"), ("2024-06-03", "zero_volume", "0", null)], found);

        // The other keys' findings were left as they were.
        var others = HealthAsync(client, "?rule=non_trading_day");
        Assert.Equal(2, (await others)["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task From_to_and_rule_narrow_the_findings_and_pages_follow_key_and_day()
    {
        var client = await SeededAsync();
        var week = await HealthAsync(client, "?from=2024-05-09&to=2024-05-15&page_size=2&page=2");
        Assert.Equal(4, week["total"]!.GetValue<long>());
        Assert.Equal(2, week["total_pages"]!.GetValue<int>());
        Assert.Equal(["000002 2024-05-14 large_move 收盘 16 10", "000002 2024-05-15 zero_volume 成交量 0"], Findings(week));
        Assert.Equal(0, week["counts"]!["non_trading_day"]!.GetValue<long>());
        Assert.Equal(1, week["counts"]!["high_below_low"]!.GetValue<long>());

        var moves = await HealthAsync(client, "?from=2024-05-09&to=2024-05-15&rule=large_move");
        Assert.Equal(["000002 2024-05-14 large_move 收盘 16 10"], Findings(moves));
        // The counts stay those of every rule.
        Assert.Equal(1, moves["counts"]!["zero_volume"]!.GetValue<long>());
    }

    [Fact]
    public async Task Columns_declared_by_the_script_are_the_ones_checked()
    {
        var client = await SeededAsync();
        object Row(string day, double close, long quantity) => new Dictionary<string, object?>
        {
            ["日期"] = day + "T00:00:00.000", ["股票代码"] = "000009", ["px_open"] = close, ["px_high"] = close + 1, ["px_low"] = close * 0.9, ["px_close"] = close, ["qty"] = quantity,
        };
        await app.CollectAsync(client, "health_declared", "000009", Row("2024-06-11", 5, 10), Row("2024-06-12", 5, 0), Row("2024-06-13", 1, 10));

        var health = await HealthAsync(client, "", HealthApp.Declared);
        Assert.Equal("script", health["columns"]!["source"]!.GetValue<string>());
        Assert.Equal("px_close", health["columns"]!["close"]!.GetValue<string>());
        Assert.Equal(["000009 2024-06-12 zero_volume qty 0", "000009 2024-06-13 large_move px_close 1 5"], Findings(health));
    }

    [Fact]
    public async Task A_table_without_bars_or_a_bad_question_is_a_clear_error()
    {
        var client = await SeededAsync();
        await app.CollectAsync(client, "health_plain", "000001", new Dictionary<string, object?> { ["日期"] = "2024-06-12T00:00:00.000", ["股票代码"] = "000001", ["值"] = 1.5 });
        var plain = await (await client.GetAsync($"/api/tables/{HealthApp.Plain}/health")).ExpectAsync(422, 3001);
        Assert.Contains("price or volume", plain["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null((await (await client.GetAsync($"/api/tables/{HealthApp.Plain}")).ExpectAsync(200, 0))["data"]!["health"]);

        await (await client.GetAsync("/api/tables/ak_no_such_table/health")).ExpectAsync(404, 2001);
        foreach (var (query, field) in new[] { ("?rule=nope", "rule"), ("?from=2024-13-01", "from"), ("?from=2024-06-12&to=2024-06-01", "to"), ("?page_size=101", "page_size") })
        {
            var error = await (await client.GetAsync($"/api/tables/{HealthApp.Bars}/health{query}")).ExpectAsync(422, 3001);
            Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);
        }
    }

    [Fact]
    public void A_move_explained_by_a_revision_or_a_factor_change_is_no_finding()
    {
        TableColumn Column(string name, string type) => new(name, type, true, null, null, name);
        var (code, date, close) = (Column("股票代码", "VARCHAR(16)"), Column("日期", "DATE"), Column("收盘", "DOUBLE"));
        var coverage = new CoverageShape(new ManagedTable("ak_t", [code, date, close], null), date, [code], null, true, [code]);
        var shape = new HealthShape(coverage, new BarColumns(null, null, null, close, null, "names"));
        var row = new HealthCandidate(["000001"], new DateTime(2024, 6, 3), null, null, null, 16, null, 10);
        var days = new AkshareWeb.Features.Calendar.TradingDays(Trading("2024-05-01", "2024-06-30"));
        HealthRules.Context Judging(bool explained) => new(days, D("2024-06-14"), 0.5, true, (_, _) => explained);

        Assert.Equal(HealthRules.LargeMove, Assert.Single(HealthRules.Judge(shape, row, "{}", Judging(false))).Rule);
        Assert.Empty(HealthRules.Judge(shape, row, "{}", Judging(true)));
    }

    [Fact]
    public void A_script_declares_its_bar_columns_by_role()
    {
        const string Script = """
            {"id": "probe", "name": "probe", "category": "stocks", "frequency": "daily", "interface": "probe", "target_table": "ak_probe",
             "write_mode": "upsert", "key_columns": ["代码", "日期"], "bar_columns": BARS}
            """;
        var (script, errors) = DataScriptFiles.Parse(Script.Replace("BARS", """{"close": "收盘价", "volume": "成交股数"}""", StringComparison.Ordinal), "stocks", "daily", "probe");
        Assert.Empty(errors);
        Assert.Equal(new BarColumnNames(null, null, null, "收盘价", "成交股数"), script!.BarColumns);

        var (_, wrong) = DataScriptFiles.Parse(Script.Replace("BARS", """{"vwap": "均价", "close": "代码"}""", StringComparison.Ordinal), "stocks", "daily", "probe");
        Assert.Contains(wrong, e => e.Contains("vwap", StringComparison.Ordinal));
        Assert.Contains(wrong, e => e.Contains("key column", StringComparison.Ordinal));
    }
}
