using System.Net.Http.Json;
using System.Text;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using MiniExcelLibs;

namespace AkshareWeb.Tests.Tables;

public sealed class TablesTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static readonly HashSet<string> Filled = [];

    /// <summary>Collects 3 symbols x 40 days of bars once per app.</summary>
    private async Task<HttpClient> CollectedAsync()
    {
        var (client, _, _) = await app.NewUserAsync();
        await Once.WaitAsync();
        try
        {
            if (Filled.Add(app.ConnectionString))
            {
                app.AkTools.Rows("stock_zh_a_hist", q => Enumerable.Range(0, 40).Select(i => TestScripts.Bar(q["symbol"].ToString(), new DateOnly(2024, 1, 1).AddDays(i), 10.25 + i)));
                await using var db = await app.OpenDatabaseAsync();
                var id = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_hist'");
                foreach (var symbol in new[] { "000001", "600000", "300750" })
                {
                    var started = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = id, parameters = new { symbol } })).ExpectAsync(200, 0))["data"]!;
                    var run = await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
                    Assert.Equal("completed", run["status"]!.GetValue<string>());
                }
            }
        }
        finally
        {
            Once.Release();
        }

        return client;
    }

    [Fact]
    public async Task Collected_tables_are_listed_with_their_figures_and_source()
    {
        var client = await CollectedAsync();
        var list = (await (await client.GetAsync("/api/tables/")).ExpectAsync(200, 0))["data"]!;
        var table = list["items"]!.AsArray().Single(t => t!["table_name"]!.GetValue<string>() == "ak_stock_zh_a_hist")!;
        Assert.Equal("A股历史行情", table["display_name"]!.GetValue<string>());
        Assert.Equal("stocks", table["category"]!.GetValue<string>());
        Assert.Equal("stock_zh_a_hist", table["script_id"]!.GetValue<string>());
        Assert.True(table["row_count_is_estimate"]!.GetValue<bool>());
        Assert.True(table["size_bytes"]!.GetValue<long>() > 0);
        Assert.NotNull(table["last_updated_at"]);
        var byCategory = (await (await client.GetAsync("/api/tables/?category=macro")).ExpectAsync(200, 0))["data"]!;
        Assert.DoesNotContain(byCategory["items"]!.AsArray(), t => t!["table_name"]!.GetValue<string>() == "ak_stock_zh_a_hist");

        var detail = (await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(120, detail["row_count"]!.GetValue<long>());
        var columns = detail["schema_info"]!["columns"]!.AsArray();
        var day = columns.Single(c => c!["name"]!.GetValue<string>() == "日期")!;
        Assert.Equal("DATE", day["type"]!.GetValue<string>());
        Assert.True(day["nullable"]!.GetValue<bool>());
        Assert.Equal("PRI", columns.Single(c => c!["name"]!.GetValue<string>() == "id")!["key"]!.GetValue<string>());
        var schema = (await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/schema")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(columns.Count, schema["columns"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("users")]
    [InlineData("ak_nope")]
    [InlineData("AK_STOCK_ZH_A_HIST")]
    [InlineData("ak_stock_zh_a_hist%60%3B%20DROP%20TABLE%20users")]
    [InlineData("..%2Fmysql.user")]
    [InlineData("information_schema.tables")]
    public async Task Anything_but_a_managed_table_is_404(string name)
    {
        var client = await CollectedAsync();
        await (await client.GetAsync($"/api/tables/{name}")).ExpectAsync(404, 2001);
        await (await client.GetAsync($"/api/tables/{name}/data")).ExpectAsync(404, 2001);
        await (await client.GetAsync($"/api/tables/{name}/export")).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Data_pages_sorts_and_filters_one_stocks_history()
    {
        var client = await CollectedAsync();
        var page = (await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?page=2&page_size=50")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(120, page["total"]!.GetValue<long>());
        Assert.Equal(3, page["total_pages"]!.GetValue<int>());
        Assert.Equal(50, page["items"]!.AsArray().Count);
        Assert.Null(page["items"]![0]!["_row_key"]);

        var url = "/api/tables/ak_stock_zh_a_hist/data?" + string.Join("&",
            "filter[" + Uri.EscapeDataString("股票代码") + "]=600000",
            "filter[" + Uri.EscapeDataString("日期") + "][gte]=2024-01-10",
            "filter[" + Uri.EscapeDataString("日期") + "][lt]=2024-01-20",
            "sort_by=" + Uri.EscapeDataString("日期"), "sort_order=desc");
        var history = (await (await client.GetAsync(url)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(10, history["total"]!.GetValue<long>());
        var days = history["items"]!.AsArray().Select(r => r!["日期"]!.GetValue<string>()).ToList();
        Assert.Equal("2024-01-19", days[0]);
        Assert.Equal("2024-01-10", days[^1]);
        Assert.All(history["items"]!.AsArray(), r => Assert.Equal("600000", r!["股票代码"]!.GetValue<string>()));

        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?sort_by=nope")).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?sort_by=_row_key")).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?sort_order=sideways")).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?page_size=101")).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?filter[nope]=1")).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?filter[" + Uri.EscapeDataString("成交量") + "]=lots")).ExpectAsync(422, 3001);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?filter[id][between]=1")).ExpectAsync(422, 3001);
        // A value that looks like SQL is only a value.
        var hostile = (await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/data?filter[" + Uri.EscapeDataString("股票代码") + "]=" + Uri.EscapeDataString("' OR '1'='1"))).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(0, hostile["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task Csv_export_has_a_bom_chinese_headers_and_the_rows_of_mysql()
    {
        var client = await CollectedAsync();
        var response = await client.GetAsync("/api/tables/ak_stock_zh_a_hist/export?format=csv&sort_by=id&filter[" + Uri.EscapeDataString("股票代码") + "]=000001");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("ak_stock_zh_a_hist_", response.Content.Headers.ContentDisposition!.ToString(), StringComparison.Ordinal);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        var lines = Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(l => l.Split('\n', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var header = lines[0].Split(',');
        Assert.Contains("日期", header);
        Assert.Contains("收盘", header);
        Assert.DoesNotContain("_row_key", header);
        Assert.Equal(41, lines.Count);

        await using var db = await app.OpenDatabaseAsync();
        var closes = (await db.QueryAsync<double>("SELECT `收盘` FROM ak_stock_zh_a_hist WHERE `股票代码` = '000001' ORDER BY id")).ToList();
        var closeIndex = Array.IndexOf(header, "收盘");
        Assert.Equal(closes, lines.Skip(1).Select(l => double.Parse(l.Split(',')[closeIndex], System.Globalization.CultureInfo.InvariantCulture)));

        var limited = await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/export?limit=5")).Content.ReadAsStringAsync();
        Assert.Equal(6, limited.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_hist/export?format=pdf")).ExpectAsync(422, 3001);
    }

    [Fact]
    public async Task Excel_export_reads_back_equal_to_the_rows_in_mysql()
    {
        var client = await CollectedAsync();
        var response = await client.GetAsync("/api/tables/ak_stock_zh_a_hist/export?format=excel&sort_by=id");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains(".xlsx", response.Content.Headers.ContentDisposition!.ToString(), StringComparison.Ordinal);
        await using var stream = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
        var rows = stream.Query(useHeaderRow: true).Cast<IDictionary<string, object>>().ToList();
        Assert.Equal(120, rows.Count);

        await using var db = await app.OpenDatabaseAsync();
        var expected = (await db.QueryAsync<(string Code, double Close, long Volume)>("SELECT `股票代码`, `收盘`, `成交量` FROM ak_stock_zh_a_hist ORDER BY id")).ToList();
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Code, Convert.ToString(rows[i]["股票代码"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(expected[i].Close, Convert.ToDouble(rows[i]["收盘"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(expected[i].Volume, Convert.ToInt64(rows[i]["成交量"], System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
