using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Collection;

/// <summary>Answers whose shape makes the engine work: keys repeated across batches, awkward JSON, bodies cut short.</summary>
public sealed class EngineShapesTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    [Fact]
    public async Task A_key_repeated_in_later_batches_keeps_the_newest_row_and_the_table_gets_its_key_indexes()
    {
        // 45,000 rows in three batches; the last 20,000 repeat the keys of the first 20,000 with new closes.
        // A table of its own, so it is new whatever ran before: its key index is built after the rows are in.
        await app.AddBarsScriptAsync("stock_repeat_hist", "重复键日线");
        var start = new DateOnly(2010, 1, 1);
        app.AkTools.Generate("stock_repeat_hist", 45_000, i =>
        {
            var key = i < 25_000 ? i : i - 25_000;
            var close = i < 25_000 ? 10.0 : 20.0;
            return $"{{\"日期\":\"{start.AddDays((int)(key % 5000)):yyyy-MM-dd}T00:00:00.000\",\"股票代码\":\"{key / 5000:D6}\",\"收盘\":{close + key % 7:0.0},\"成交量\":{key}}}";
        });

        var run = await app.DownloadAsync("stock_repeat_hist", new { symbol = "all" }, seconds: 90);
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(25_000, run["rows_affected"]!.GetValue<long>());
        Assert.Equal(25_000, run["rows_after"]!.GetValue<long>());

        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(25_000, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_repeat_hist"));
        Assert.Equal(25_000, await db.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT `股票代码`, `日期`) FROM ak_stock_repeat_hist"));
        // Key 0 was sent with close 10 and then 20: the newest stays; key 24,999 was sent once.
        Assert.Equal(20.0, await db.ExecuteScalarAsync<double>("SELECT `收盘` FROM ak_stock_repeat_hist WHERE `股票代码` = '000000' AND `日期` = '2010-01-01'"));
        Assert.Equal(10.0 + 24_999 % 7, await db.ExecuteScalarAsync<double>("SELECT `收盘` FROM ak_stock_repeat_hist WHERE `股票代码` = '000004' AND `日期` = @day",
            new { day = start.AddDays(24_999 % 5000).ToDateTime(TimeOnly.MinValue) }));

        // Every row names the run that wrote it, although the run loaded them on the columns' defaults; the
        // defaults are gone once the run has ended.
        Assert.Equal([run["execution_id"]!.GetValue<string>()], await db.QueryAsync<string>("SELECT DISTINCT _execution_id FROM ak_stock_repeat_hist"));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_repeat_hist WHERE _collected_at < '2020-01-01'"));
        Assert.Empty(await db.QueryAsync<string>("""
            SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_repeat_hist'
              AND COLUMN_NAME IN ('_execution_id', '_collected_at') AND COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL'
            """));

        // The unique key is there when the run ends; the index on 日期 (for reading) follows it shortly after.
        var indexes = (await db.QueryAsync<(string Name, int NonUnique, string Column, int Seq)>("""
            SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_repeat_hist' ORDER BY INDEX_NAME, SEQ_IN_INDEX
            """)).ToList();
        Assert.Equal(["股票代码", "日期"], indexes.Where(i => i.Name == "ux_natural_key").Select(i => i.Column));
        Assert.All(indexes.Where(i => i.Name == "ux_natural_key"), i => Assert.Equal(0, i.NonUnique));
        for (var waited = 0; waited < 100 && await db.ExecuteScalarAsync<long>("""
            SELECT COUNT(*) FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_repeat_hist' AND COLUMN_NAME = '日期' AND SEQ_IN_INDEX = 1
            """) == 0; waited++)
        {
            await Task.Delay(100);
        }

        Assert.Equal("ix_key_1", await db.ExecuteScalarAsync<string>("""
            SELECT INDEX_NAME FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_repeat_hist' AND COLUMN_NAME = '日期' AND SEQ_IN_INDEX = 1
            """));

        // The same answer again, now through key look-ups: each repeated key is rewritten twice (old value,
        // then newest), nothing is added, and the newest value is what stays.
        var again = await app.DownloadAsync("stock_repeat_hist", new { symbol = "all" }, seconds: 90);
        Assert.Equal("completed", again["status"]!.GetValue<string>());
        Assert.Equal(0, again["rows_inserted"]!.GetValue<long>());
        Assert.Equal(40_000, again["rows_updated"]!.GetValue<long>());
        Assert.Equal(again["rows_before"]!.GetValue<long>(), again["rows_after"]!.GetValue<long>());
        Assert.Equal(20.0, await db.ExecuteScalarAsync<double>("SELECT `收盘` FROM ak_stock_repeat_hist WHERE `股票代码` = '000000' AND `日期` = '2010-01-01'"));
    }

    [Fact]
    public async Task Rows_with_a_null_key_column_are_recognised_on_the_next_run()
    {
        app.AkTools.Raw("stock_zh_a_hist", """
            [{"日期": null, "股票代码": "NULLDAY", "收盘": 1.5}, {"日期": "2024-05-06T00:00:00.000", "股票代码": null, "收盘": 2.5}]
            """);
        var first = await app.DownloadAsync("stock_zh_a_hist", new { symbol = "NULLDAY" }, seconds: 90);
        Assert.True(first["status"]!.GetValue<string>() == "completed", first.ToJsonString());
        var again = await app.DownloadAsync("stock_zh_a_hist", new { symbol = "NULLDAY" }, seconds: 90);
        Assert.Equal(0, again["rows_affected"]!.GetValue<long>());
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(2, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_zh_a_hist WHERE `日期` IS NULL OR `股票代码` IS NULL"));
    }

    [Fact]
    public async Task Awkward_but_valid_json_is_read_exactly()
    {
        // A byte-order mark, escaped names and values, an instant with a zone, a nested value, absent columns.
        var body = "\uFEFF \n[ {\"\\u4ef7\\u683c\": 1.25, \"文本\": \"a\\\"b\\\\c\\nd\\te\\u0000f\", \"时间\": \"2024-01-02T09:30:00+08:00\", " +
                   "\"本地时间\": \"2024-01-02 09:30:00\", \"标志\": true, \"嵌套\": {\"x\": [1, 2, {\"y\": null}]}, \"整数\": -5, \"科学计数\": 1e3},\n" +
                   "  null,\n  {\"价格\": 2, \"文本\": \"第二行\"} ]";
        app.AkTools.Raw("hostile_fn", body);

        var run = await app.DownloadAsync("hostile_fn", new { level = 7 }, seconds: 90);
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(2, run["rows_affected"]!.GetValue<long>());

        await using var db = await app.OpenDatabaseAsync();
        var types = (await db.QueryAsync<(string Name, string Type)>(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_hostile_fn'"))
            .ToDictionary(c => c.Name, c => c.Type);
        Assert.Equal("double", types["价格"]);
        Assert.Equal("datetime", types["时间"]);
        Assert.Equal("tinyint", types["标志"]);
        Assert.Equal("bigint", types["整数"]);
        Assert.Equal("double", types["科学计数"]);

        var first = await db.QuerySingleAsync<(double Price, string Text, DateTime At, DateTime Local, bool Flag, string Nested, long Whole, double Scientific)>(
            "SELECT `价格`, `文本`, `时间`, `本地时间`, `标志`, `嵌套`, `整数`, `科学计数` FROM ak_hostile_fn WHERE `价格` = 1.25");
        Assert.Equal("a\"b\\c\nd\te\0f", first.Text);
        Assert.Equal(new DateTime(2024, 1, 2, 1, 30, 0), first.At); // stored in UTC
        Assert.Equal(new DateTime(2024, 1, 2, 9, 30, 0), first.Local);
        Assert.True(first.Flag);
        Assert.Null(JsonNode.Parse(first.Nested)!["x"]![2]!["y"]);
        Assert.Equal(-5, first.Whole);
        Assert.Equal(1000, first.Scientific);

        var second = await db.QuerySingleAsync<(string Text, DateTime? At)>("SELECT `文本`, `时间` FROM ak_hostile_fn WHERE `价格` = 2");
        Assert.Equal("第二行", second.Text);
        Assert.Null(second.At);
    }

    [Fact]
    public async Task A_body_cut_off_inside_the_array_fails_and_writes_nothing()
    {
        app.AkTools.Raw("macro_cnbs", "[{\"年份\": \"2023\", \"居民部门\": 61.9}, {\"年份\": \"2024\", \"居民部");
        var run = await app.DownloadAsync("macro_cnbs", new { }, seconds: 90);
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Contains("malformed JSON for macro_cnbs", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, run["rows_affected"]!.GetValue<long>());
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_macro_cnbs'"));
    }

    [Fact]
    public async Task A_key_widened_by_the_script_rebuilds_the_tables_unique_index_so_weekly_bars_keep_the_daily_ones()
    {
        // The library's daily-bars scripts once keyed on symbol and date only; a weekly bar then replaced the
        // daily bar of its day. Their key now holds the period: a table made under the old key must follow.
        await app.AddBarsScriptAsync("stock_rekey_hist", "改键日线");
        var day = new DateOnly(2024, 1, 5);
        app.AkTools.Rows("stock_rekey_hist", q => Enumerable.Range(0, 3).Select(i => TestScripts.Bar(q["symbol"].ToString(), day.AddDays(7 * i), 10 + i)));
        var first = await app.DownloadAsync("stock_rekey_hist", new { symbol = "000001" });
        Assert.True(first["status"]!.GetValue<string>() == "completed", first.ToJsonString());

        app.WriteScript("stocks/daily/stock_rekey_hist.json", """
            {"id": "stock_rekey_hist", "name": "改键日线", "category": "stocks", "frequency": "daily", "interface": "stock_rekey_hist",
             "parameters": [{"name": "symbol", "type": "string", "required": true, "role": "key", "column": "股票代码"},
                            {"name": "period", "type": "string", "default": "daily", "allowed": ["daily", "weekly"], "role": "key"}],
             "target_table": "ak_stock_rekey_hist", "write_mode": "upsert", "key_columns": ["股票代码", "日期", "period"],
             "extra_columns": {"period": "{period}"}}
            """);
        var admin = await app.AdminAsync();
        await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0);
        var daily = await app.DownloadAsync("stock_rekey_hist", new { symbol = "000001" });
        Assert.True(daily["status"]!.GetValue<string>() == "completed", daily.ToJsonString());
        Assert.NotNull(daily["result"]!["key_rebuilt"]);
        var weekly = await app.DownloadAsync("stock_rekey_hist", new { symbol = "000001", period = "weekly" });
        Assert.True(weekly["status"]!.GetValue<string>() == "completed", weekly.ToJsonString());

        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(["股票代码", "日期", "period"], await db.QueryAsync<string>("""
            SELECT COLUMN_NAME FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_rekey_hist' AND INDEX_NAME = 'ux_natural_key' ORDER BY SEQ_IN_INDEX
            """));
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_rekey_hist WHERE period = 'weekly'"));
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_rekey_hist WHERE period = 'daily'"));
        // Rows written before the key held the period cannot say which period they were: they stay, without one.
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_rekey_hist WHERE period IS NULL"));
    }

    [Fact]
    public async Task Columns_named_after_the_trading_day_keep_one_table_shape_with_the_date_as_a_value()
    {
        // fund_open_fund_daily_em names its value columns after the day they belong to: without the rule every
        // trading day would add two columns to the table.
        app.WriteScript("funds/daily/fund_dated_daily_em.json", """
            {"id": "fund_dated_daily_em", "name": "开放式基金净值（带日期列名）", "category": "funds", "frequency": "daily", "interface": "fund_dated_daily_em",
             "parameters": [], "target_table": "ak_fund_dated_daily_em", "write_mode": "upsert", "key_columns": ["基金代码", "净值日期"],
             "dated_columns": {"pattern": "^(\\d{4}-\\d{2}-\\d{2})-(.+)$", "date_column": "净值日期", "previous_prefix": "前一日"}}
            """);
        var admin = await app.AdminAsync();
        await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0);
        object Fund(string code, string day, string before, double value) => new Dictionary<string, object?>
        {
            ["基金代码"] = code, ["基金简称"] = "基金" + code,
            [$"{day}-单位净值"] = value, [$"{day}-累计净值"] = value + 1, [$"{before}-单位净值"] = value - 0.01, [$"{before}-累计净值"] = value + 0.99,
            ["日增长率"] = 0.5,
        };

        app.AkTools.Rows("fund_dated_daily_em", Fund("000001", "2026-11-26", "2026-11-25", 1.5), Fund("000002", "2026-11-26", "2026-11-25", 2.5));
        var first = await app.DownloadAsync("fund_dated_daily_em");
        Assert.True(first["status"]!.GetValue<string>() == "completed", first.ToJsonString());
        app.AkTools.Rows("fund_dated_daily_em", Fund("000001", "2026-11-27", "2026-11-26", 1.6), Fund("000002", "2026-11-27", "2026-11-26", 2.6));
        var next = await app.DownloadAsync("fund_dated_daily_em");
        Assert.True(next["status"]!.GetValue<string>() == "completed", next.ToJsonString());
        Assert.Equal(0, next["result"]!["columns_added"]!.GetValue<int>());

        await using var db = await app.OpenDatabaseAsync();
        var columns = (await db.QueryAsync<string>("""
            SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_fund_dated_daily_em' AND COLUMN_NAME NOT LIKE '\_%' AND COLUMN_NAME <> 'id'
            """)).Order().ToList();
        Assert.Equal(new[] { "净值日期", "前一日单位净值", "前一日累计净值", "单位净值", "基金代码", "基金简称", "日增长率", "累计净值" }.Order(), columns);
        var rows = (await db.QueryAsync<(string Code, DateTime Day, double Value, double Before)>(
            "SELECT `基金代码`, `净值日期`, `单位净值`, `前一日单位净值` FROM ak_fund_dated_daily_em ORDER BY `基金代码`, `净值日期`")).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(("000001", new DateTime(2026, 11, 26), 1.5, 1.49), rows[0]);
        Assert.Equal(("000001", new DateTime(2026, 11, 27), 1.6, 1.59), rows[1]);
    }

    [Fact]
    public async Task A_table_appended_by_whole_rows_and_then_upserted_on_a_key_keeps_one_row_per_key()
    {
        // stock_lhb_detail_em was appended with a hash of all values, but its 上榜后N日 columns fill in on later
        // days, so every run stored each listing again. Its script now upserts on 代码, 上榜日, 上榜原因.
        object Listing(string code, double after) => new Dictionary<string, object?>
        {
            ["序号"] = 1, ["代码"] = code, ["上榜日"] = new DateOnly(2026, 11, 20), ["上榜原因"] = "日涨幅偏离值达7%", ["上榜后1日"] = after,
        };
        string Script(string mode, string keys) => $$"""
            {"id": "stock_lhb_rekey_em", "name": "龙虎榜（改为按键写入）", "category": "stocks", "frequency": "daily", "interface": "stock_lhb_rekey_em",
             "parameters": [], "target_table": "ak_stock_lhb_rekey_em", "write_mode": "{{mode}}", "key_columns": [{{keys}}]}
            """;
        var admin = await app.AdminAsync();
        app.WriteScript("stocks/daily/stock_lhb_rekey_em.json", Script("append", ""));
        await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0);
        app.AkTools.Rows("stock_lhb_rekey_em", Listing("000001", double.NaN), Listing("600519", double.NaN));
        await app.DownloadAsync("stock_lhb_rekey_em");
        app.AkTools.Rows("stock_lhb_rekey_em", Listing("000001", 1.5), Listing("600519", -0.5));
        await app.DownloadAsync("stock_lhb_rekey_em");
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(4, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_lhb_rekey_em"));

        app.WriteScript("stocks/daily/stock_lhb_rekey_em.json", Script("upsert", "\"代码\", \"上榜日\", \"上榜原因\""));
        await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0);
        app.AkTools.Rows("stock_lhb_rekey_em", Listing("000001", 1.5), Listing("600519", -0.5), Listing("300750", double.NaN));
        var run = await app.DownloadAsync("stock_lhb_rekey_em");
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(2, run["result"]!["earlier_duplicates_removed"]!.GetValue<long>());
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_lhb_rekey_em"));
        Assert.Equal(1.5, await db.ExecuteScalarAsync<double>("SELECT `上榜后1日` FROM ak_stock_lhb_rekey_em WHERE `代码` = '000001'"));
        Assert.Equal(["代码", "上榜日", "上榜原因"], await db.QueryAsync<string>("""
            SELECT COLUMN_NAME FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_lhb_rekey_em' AND INDEX_NAME = 'ux_natural_key' ORDER BY SEQ_IN_INDEX
            """));

        // And later runs update in place.
        app.AkTools.Rows("stock_lhb_rekey_em", Listing("000001", 2.5));
        await app.DownloadAsync("stock_lhb_rekey_em");
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_lhb_rekey_em"));
        Assert.Equal(2.5, await db.ExecuteScalarAsync<double>("SELECT `上榜后1日` FROM ak_stock_lhb_rekey_em WHERE `代码` = '000001'"));
    }
}
