using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Collection;

public sealed class InsertPathApp : CollectingApp
{
    public InsertPathApp() => Set("Collection:UseBulkLoad", "false");
}

/// <summary>Replace and append modes, and the multi-row INSERT path used where LOAD DATA LOCAL is refused.</summary>
public sealed class WriteModeTests(InsertPathApp app) : IClassFixture<InsertPathApp>
{
    [Fact]
    public async Task Replace_swaps_in_the_new_content_whole()
    {
        app.AkTools.Rows("macro_china_cpi",
            new Dictionary<string, object?> { ["月份"] = "2024年01月份", ["全国-当月"] = 99.2 },
            new Dictionary<string, object?> { ["月份"] = "2024年02月份", ["全国-当月"] = 100.7 });
        var first = await app.DownloadAsync("macro_china_cpi", new { });
        Assert.Equal("completed", first["status"]!.GetValue<string>());
        Assert.Equal(2, first["rows_after"]!.GetValue<long>());
        await using (var before = await app.OpenDatabaseAsync())
        {
            // As the service builds one when people sort a large table by the column.
            await before.ExecuteAsync("ALTER TABLE ak_macro_china_cpi ADD KEY `ix_sort_全国-当月` (`全国-当月`)");
        }

        app.AkTools.Rows("macro_china_cpi", new Dictionary<string, object?> { ["月份"] = "2024年03月份", ["全国-当月"] = 100.1, ["全国-同比增长"] = 0.1 });
        var second = await app.DownloadAsync("macro_china_cpi", new { });
        Assert.Equal("completed", second["status"]!.GetValue<string>());
        Assert.Equal(2, second["rows_before"]!.GetValue<long>());
        Assert.Equal(1, second["rows_after"]!.GetValue<long>());
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal("2024年03月份", await db.ExecuteScalarAsync<string>("SELECT `月份` FROM ak_macro_china_cpi"));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'ak_macro_china_cpi\\_\\_%'"));

        // The new content is indexed for the orders people sorted the old one by, shortly after the run.
        var sortIndex = "";
        for (var waited = 0; waited < 100 && sortIndex.Length == 0; waited++)
        {
            sortIndex = await db.ExecuteScalarAsync<string?>(
                "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_macro_china_cpi' AND INDEX_NAME = 'ix_sort_全国-当月'") ?? "";
            if (sortIndex.Length == 0) await Task.Delay(100);
        }

        Assert.Equal("全国-当月", sortIndex);

        // A failed replace leaves the old content as it was.
        app.AkTools.Raw("macro_china_cpi", "[{\"月份\": \"2024年04月份\"}, {\"月份\": ");
        var failed = await app.DownloadAsync("macro_china_cpi", new { });
        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal("2024年03月份", await db.ExecuteScalarAsync<string>("SELECT `月份` FROM ak_macro_china_cpi"));
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_macro_china_cpi"));
    }

    [Fact]
    public async Task Append_keeps_every_distinct_row_once_through_the_insert_path()
    {
        object News(int i) => new Dictionary<string, object?> { ["新闻标题"] = $"标题 {i} 'quoted' `ticked`; --", ["发布时间"] = $"2024-05-0{1 + i % 9} 10:00:00" };
        app.AkTools.Rows("stock_news_em", Enumerable.Range(0, 1200).Select(News).ToArray());
        var first = await app.DownloadAsync("stock_news_em", new { symbol = "300059" });
        Assert.Equal("completed", first["status"]!.GetValue<string>());
        Assert.Equal(1200, first["rows_inserted"]!.GetValue<long>());

        app.AkTools.Rows("stock_news_em", Enumerable.Range(600, 1200).Select(News).ToArray());
        var second = await app.DownloadAsync("stock_news_em", new { symbol = "300059" });
        Assert.Equal(600, second["rows_inserted"]!.GetValue<long>());
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(1800, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_stock_news_em"));
        Assert.Equal("300059", await db.ExecuteScalarAsync<string>("SELECT DISTINCT symbol FROM ak_stock_news_em"));
        Assert.Equal("标题 7 'quoted' `ticked`; --", await db.ExecuteScalarAsync<string>("SELECT `新闻标题` FROM ak_stock_news_em WHERE `新闻标题` LIKE '标题 7 %'"));
        Assert.Equal("datetime(6)", await db.ExecuteScalarAsync<string>("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ak_stock_news_em' AND COLUMN_NAME = '发布时间'"));
    }
}
