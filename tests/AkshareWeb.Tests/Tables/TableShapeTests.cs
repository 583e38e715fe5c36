using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// /data remembers a table's columns and indexes between requests; a run of the engine must never leave a page
/// showing the table as it was before the run.
/// </summary>
public sealed class TableShapeTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    [Fact]
    public async Task A_page_right_after_a_run_that_added_a_column_shows_the_column()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.AkTools.Rows("stock_zh_a_spot_em", new Dictionary<string, object?> { ["代码"] = "000001", ["最新价"] = 10.5 });
        Assert.Equal("completed", (await app.DownloadAsync("stock_zh_a_spot_em", client: client))["status"]!.GetValue<string>());
        var first = (await (await client.GetAsync("/api/tables/ak_stock_zh_a_spot_em/data")).ExpectAsync(200, 0))["data"]!;
        Assert.Null(first["items"]![0]!["成交量"]);
        Assert.False(first["items"]![0]!.AsObject().ContainsKey("成交量"));

        app.AkTools.Rows("stock_zh_a_spot_em", new Dictionary<string, object?> { ["代码"] = "000002", ["最新价"] = 8.25, ["成交量"] = 12345 });
        var run = await app.DownloadAsync("stock_zh_a_spot_em", client: client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());

        var page = (await (await client.GetAsync("/api/tables/ak_stock_zh_a_spot_em/data?sort_by=成交量&sort_order=desc")).ExpectAsync(200, 0))["data"]!;
        Assert.True(page["items"]!.AsArray().Count >= 2);
        Assert.Equal(12345, page["items"]![0]!["成交量"]!.GetValue<long>());
        Assert.True(page["items"]!.AsArray().All(item => item!.AsObject().ContainsKey("成交量")));
    }

    [Fact]
    public async Task Nothing_stale_after_a_replace_run()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.AkTools.Rows("macro_china_cpi",
            new Dictionary<string, object?> { ["月份"] = "2024年01月份", ["全国-当月"] = 99.2 },
            new Dictionary<string, object?> { ["月份"] = "2024年02月份", ["全国-当月"] = 100.7 });
        Assert.Equal("completed", (await app.DownloadAsync("macro_china_cpi", client: client))["status"]!.GetValue<string>());
        var before = (await (await client.GetAsync("/api/tables/ak_macro_china_cpi/data?sort_by=全国-当月")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(2, before["total"]!.GetValue<long>());

        app.AkTools.Rows("macro_china_cpi", new Dictionary<string, object?> { ["月份"] = "2024年03月份", ["全国-当月"] = 100.1, ["全国-同比增长"] = 0.1 });
        Assert.Equal("completed", (await app.DownloadAsync("macro_china_cpi", client: client))["status"]!.GetValue<string>());

        foreach (var query in new[] { "", "?sort_by=全国-当月", "?sort_by=全国-同比增长&sort_order=desc" })
        {
            var page = (await (await client.GetAsync("/api/tables/ak_macro_china_cpi/data" + query)).ExpectAsync(200, 0))["data"]!;
            Assert.Equal(1, page["total"]!.GetValue<long>());
            var row = page["items"]![0]!;
            Assert.Equal("2024年03月份", row["月份"]!.GetValue<string>());
            Assert.Equal(0.1, row["全国-同比增长"]!.GetValue<double>());
        }
    }
}
