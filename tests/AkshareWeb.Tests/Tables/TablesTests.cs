using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MiniExcelLibs;

namespace AkshareWeb.Tests.Tables;

public sealed class TablesTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);
    private static readonly HashSet<string> Made = [];

    /// <summary>Makes what the tests of the class share, once per app: <paramref name="make"/> runs unless it
    /// already succeeded for <paramref name="what"/> on this app's database.</summary>
    private async Task OnceAsync(string what, Func<Task> make)
    {
        var key = app.ConnectionString + "/" + what;
        await OneAtATime.WaitAsync();
        try
        {
            if (Made.Contains(key)) return;
            await make();
            Made.Add(key);
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    /// <summary>Collects 3 symbols x 40 days of bars once per app.</summary>
    private async Task<HttpClient> CollectedAsync()
    {
        var (client, _, _) = await app.NewUserAsync();
        await OnceAsync("bars", async () =>
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
        });

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

    /// <summary>
    /// A table of the engine's shape made by SQL (rows in no particular order of any column): 股票代码 and 日期 with
    /// repeats and NULLs, indexed as the engine indexes them (natural key 股票代码, 日期 and 日期 on its own), 收盘
    /// (DOUBLE) and 成交额 (DECIMAL) with repeats and NULLs and no index. Registered as a managed table.
    /// </summary>
    private async Task<string> HandMadeAsync(string table, int rows)
    {
        await OnceAsync(table, async () =>
        {
            await using var db = await app.OpenDatabaseAsync();
            await db.ExecuteAsync($"""
                CREATE TABLE {table} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `日期` DATE NULL COMMENT '日期',
                  `股票代码` VARCHAR(16) NULL COMMENT '股票代码', `收盘` DOUBLE NULL COMMENT '收盘', `成交额` DECIMAL(20,4) NULL COMMENT '成交额',
                  _execution_id VARCHAR(40) NOT NULL, _collected_at DATETIME(6) NOT NULL, _row_key BINARY(32) NOT NULL, _row_hash BINARY(32) NOT NULL,
                  UNIQUE KEY ux_row_key (_row_key), KEY ix_natural_key (`股票代码`, `日期`), KEY ix_day (`日期`)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """);
            await AddRowsAsync(db, table, 0, rows);
            await db.ExecuteAsync("""
                INSERT INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at)
                VALUES (@table, @table, 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
                """, new { table });
        });
        return table;
    }

    private static async Task AddRowsAsync(MySqlConnector.MySqlConnection db, string table, int from, int count)
    {
        const string digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
        await db.ExecuteAsync($"""
            INSERT INTO {table} (`日期`, `股票代码`, `收盘`, `成交额`, _execution_id, _collected_at, _row_key, _row_hash)
            SELECT CASE WHEN n % 11 = 0 THEN NULL ELSE DATE('2024-01-01') + INTERVAL (n * 7 % 400) DAY END,
              CASE WHEN n % 7 = 0 THEN NULL ELSE LPAD(n * 13 % 50, 6, '0') END,
              CASE WHEN n % 13 = 0 THEN NULL ELSE 10 + (n % 17) / 10 END,
              CASE WHEN n % 9 = 0 THEN NULL ELSE (n % 23) * 1234.5678 END,
              'exec_by_hand', UTC_TIMESTAMP(6), UNHEX(SHA2(CONCAT('{table}', n), 256)), UNHEX(SHA2(n, 256))
            FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n FROM {digit} a, {digit} b, {digit} c, {digit} e, {digit} f) numbers
            WHERE n >= @from AND n < @to
            """, new { from, to = from + count });
    }

    /// <summary>The ORDER BY the API promises for each sort of the hand-made tables.</summary>
    private static string ExpectedOrder(string sortBy, string direction) => sortBy switch
    {
        "id" => $"id {direction}",
        // An index starts with 股票代码: its columns, then id.
        "股票代码" => $"`股票代码` {direction}, `日期` {direction}, id {direction}",
        _ => $"`{sortBy}` {direction}, id {direction}",
    };

    private static async Task<JsonNode> DataAsync(HttpClient client, string table, string query) =>
        (await (await client.GetAsync($"/api/tables/{table}/data?{query}")).ExpectAsync(200, 0))["data"]!;

    private static List<long> Ids(JsonNode page) => page["items"]!.AsArray().Select(r => r!["id"]!.GetValue<long>()).ToList();

    private static string Sort(string sortBy, string direction) => $"sort_by={Uri.EscapeDataString(sortBy)}&sort_order={direction}";

    [Theory]
    [InlineData("id", "asc")]
    [InlineData("id", "desc")]
    [InlineData("股票代码", "asc")]
    [InlineData("股票代码", "desc")]
    [InlineData("日期", "asc")]
    [InlineData("日期", "desc")]
    [InlineData("收盘", "asc")]
    [InlineData("成交额", "desc")]
    public async Task Cursor_pages_walk_the_whole_table_in_order_without_overlap_or_gaps(string sortBy, string direction)
    {
        var client = await CollectedAsync();
        var table = await HandMadeAsync("ak_by_hand_walk", 300);
        await using var db = await app.OpenDatabaseAsync();
        var expected = (await db.QueryAsync<long>($"SELECT id FROM {table} ORDER BY {ExpectedOrder(sortBy, direction)}")).ToList();

        var walked = new List<long>();
        var page = await DataAsync(client, table, $"{Sort(sortBy, direction)}&page_size=7");
        Assert.Equal(1, page["page"]!.GetValue<int>());
        var requests = 1;
        while (true)
        {
            Assert.Equal(300, page["total"]!.GetValue<long>());
            Assert.Equal(43, page["total_pages"]!.GetValue<int>());
            var ids = Ids(page);
            walked.AddRange(ids);
            var next = page["next_cursor"]?.GetValue<string>();
            if (next is null) break;
            Assert.Equal(7, ids.Count);
            page = await DataAsync(client, table, $"{Sort(sortBy, direction)}&page_size=7&cursor={Uri.EscapeDataString(next)}");
            Assert.Null(page["page"]);
            Assert.True(++requests <= 43, "the walk does not end");
        }

        Assert.Equal(43, requests);
        Assert.Equal(expected, walked);

        // Page numbers give the same order.
        var numbered = new List<long>();
        for (var number = 1; number <= 43; number++)
        {
            var numberedPage = await DataAsync(client, table, $"{Sort(sortBy, direction)}&page_size=7&page={number}");
            Assert.Equal(number < 43, numberedPage["next_cursor"] is not null);
            numbered.AddRange(Ids(numberedPage));
        }

        Assert.Equal(expected, numbered);
    }

    [Theory]
    [InlineData("id", "asc")]
    [InlineData("id", "desc")]
    [InlineData("股票代码", "asc")]
    [InlineData("股票代码", "desc")]
    [InlineData("日期", "desc")]
    [InlineData("收盘", "asc")]
    public async Task Deep_pages_are_the_rows_at_their_offset_in_any_order_of_requests(string sortBy, string direction)
    {
        var client = await CollectedAsync();
        // 25,000 rows: pages beyond the first 10,000 rows start from cached positions in indexed orders.
        var table = await HandMadeAsync("ak_by_hand_deep", 25_000);
        await using var db = await app.OpenDatabaseAsync();
        foreach (var number in new[] { 150, 101, 249, 250, 100, 1, 201, 251 })
        {
            var expected = (await db.QueryAsync<long>($"SELECT id FROM {table} ORDER BY {ExpectedOrder(sortBy, direction)} LIMIT 100 OFFSET {(number - 1) * 100}")).ToList();
            var page = await DataAsync(client, table, $"{Sort(sortBy, direction)}&page_size=100&page={number}");
            Assert.Equal(25_000, page["total"]!.GetValue<long>());
            Assert.Equal(expected, Ids(page));
            Assert.Equal(number < 250, page["next_cursor"] is not null);
            if (number == 150)
            {
                var after = await DataAsync(client, table, $"{Sort(sortBy, direction)}&page_size=100&cursor={Uri.EscapeDataString(page["next_cursor"]!.GetValue<string>())}");
                var following = (await db.QueryAsync<long>($"SELECT id FROM {table} ORDER BY {ExpectedOrder(sortBy, direction)} LIMIT 100 OFFSET 15000")).ToList();
                Assert.Equal(following, Ids(after));
            }
        }
    }

    [Fact]
    public async Task A_cursor_is_only_good_for_the_query_that_gave_it()
    {
        var client = await CollectedAsync();
        var table = await HandMadeAsync("ak_by_hand_walk", 300);
        var day = Uri.EscapeDataString("日期");
        var code = Uri.EscapeDataString("股票代码");
        var byDay = await DataAsync(client, table, $"sort_by={day}&page_size=10");
        var cursor = Uri.EscapeDataString(byDay["next_cursor"]!.GetValue<string>());

        await DataAsync(client, table, $"sort_by={day}&page_size=20&cursor={cursor}");
        var otherSort = await (await client.GetAsync($"/api/tables/{table}/data?sort_by={code}&page_size=10&cursor={cursor}")).ExpectAsync(422, 3001);
        Assert.Equal("cursor", otherSort["detail"]![0]!["field"]!.GetValue<string>());
        await (await client.GetAsync($"/api/tables/{table}/data?sort_by={day}&sort_order=desc&cursor={cursor}")).ExpectAsync(422, 3001);
        await (await client.GetAsync($"/api/tables/{table}/data?sort_by={day}&filter[{code}]=000013&cursor={cursor}")).ExpectAsync(422, 3001);
        await (await client.GetAsync($"/api/tables/ak_stock_zh_a_hist/data?sort_by={day}&cursor={cursor}")).ExpectAsync(422, 3001);
        await (await client.GetAsync($"/api/tables/{table}/data?sort_by={day}&cursor=not-a-cursor")).ExpectAsync(422, 3001);
        // A cursor made by hand with the right fingerprint but values that are not the columns' is refused too.
        var body = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, System.Text.Json.JsonElement>>(
            System.Buffers.Text.Base64Url.DecodeFromChars(byDay["next_cursor"]!.GetValue<string>()))!;
        var forged = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new Dictionary<string, object?> { ["q"] = body["q"].GetString(), ["k"] = new[] { "2024-01-01", "1 OR 1=1" } }));
        await (await client.GetAsync($"/api/tables/{table}/data?sort_by={day}&cursor={forged}")).ExpectAsync(422, 3001);
    }

    [Fact]
    public async Task Sorting_by_the_first_column_of_a_composite_index_follows_the_index()
    {
        var client = await CollectedAsync();
        await using var db = await app.OpenDatabaseAsync();
        foreach (var direction in new[] { "asc", "desc" })
        {
            var expected = (await db.QueryAsync<long>(
                $"SELECT id FROM ak_stock_zh_a_hist FORCE INDEX (ux_natural_key) ORDER BY `股票代码` {direction}, `日期` {direction}, id {direction}")).ToList();
            var first = await DataAsync(client, "ak_stock_zh_a_hist", $"{Sort("股票代码", direction)}&page_size=100");
            var second = await DataAsync(client, "ak_stock_zh_a_hist", $"{Sort("股票代码", direction)}&page_size=100&page=2");
            Assert.Equal(expected, Ids(first).Concat(Ids(second)));
            var codes = first["items"]!.AsArray().Select(r => r!["股票代码"]!.GetValue<string>()).ToList();
            Assert.Equal(direction == "asc" ? codes.Order(StringComparer.Ordinal) : codes.OrderDescending(StringComparer.Ordinal), codes);
        }
    }

    [Fact]
    public async Task Total_is_cached_until_the_table_is_written_again()
    {
        var client = await CollectedAsync();
        var table = await HandMadeAsync("ak_by_hand_totals", 50);
        var code = "filter[" + Uri.EscapeDataString("股票代码") + "]=000013";
        await using var db = await app.OpenDatabaseAsync();
        var filtered = await db.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table} WHERE `股票代码` = '000013'");
        Assert.Equal(50, (await DataAsync(client, table, "page_size=5"))["total"]!.GetValue<long>());
        Assert.Equal(filtered, (await DataAsync(client, table, code))["total"]!.GetValue<long>());

        // Rows written behind the service's back, last_updated_at untouched: the cached totals stand (for up to a minute).
        await AddRowsAsync(db, table, 50, 40);
        Assert.Equal(50, (await DataAsync(client, table, "page_size=5&page=3"))["total"]!.GetValue<long>());

        // Written again as the engine writes (last_updated_at moves): counted again, with and without filters.
        await db.ExecuteAsync("UPDATE warehouse_tables SET last_updated_at = UTC_TIMESTAMP(6) + INTERVAL 1 SECOND WHERE table_name = @table", new { table });
        var page = await DataAsync(client, table, "page_size=5&page=3");
        Assert.Equal(90, page["total"]!.GetValue<long>());
        Assert.Equal(18, page["total_pages"]!.GetValue<int>());
        var refiltered = await db.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table} WHERE `股票代码` = '000013'");
        Assert.True(refiltered > filtered);
        Assert.Equal(refiltered, (await DataAsync(client, table, code))["total"]!.GetValue<long>());
    }

    /// <summary>
    /// 120,000 rows through the engine, once per app: over the size from which the service counts the table and
    /// looks up the page positions of its indexed orders right after a run, before anyone asks. Returns when the
    /// table has been made ready.
    /// </summary>
    private async Task<HttpClient> LargeTableAsync()
    {
        var client = await CollectedAsync();
        await OnceAsync("ak_stock_warm_hist", async () =>
        {
            await app.AddBarsScriptAsync("stock_warm_hist", "预热日线");
            var start = new DateOnly(2000, 1, 3);
            app.AkTools.Generate("stock_warm_hist", 120_000, i =>
                $"{{\"日期\":\"{start.AddDays((int)(i % 4000)):yyyy-MM-dd}T00:00:00.000\",\"股票代码\":\"{i / 4000:D6}\",\"收盘\":{10 + i % 1000 / 100.0:0.00}}}");
            var run = await app.DownloadAsync("stock_warm_hist", new { symbol = "all" }, seconds: 120, client: client);
            Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        });

        var warmer = app.Services.GetRequiredService<AkshareWeb.Features.Tables.TableWarmer>();
        for (var waited = 0; waited < 300 && !warmer.Warmed.ContainsKey("ak_stock_warm_hist"); waited++) await Task.Delay(100);
        Assert.True(warmer.Warmed.ContainsKey("ak_stock_warm_hist"), "the table was not made ready within 30 s");
        return client;
    }

    [Fact]
    public async Task A_large_table_is_made_ready_for_deep_pages_after_a_run_and_they_are_the_rows_at_their_offset()
    {
        var client = await LargeTableAsync();
        await using var db = await app.OpenDatabaseAsync();
        var orders = new (string SortBy, string Direction, string OrderBy)[]
        {
            ("id", "asc", "id ASC"), ("id", "desc", "id DESC"), ("日期", "asc", "`日期` ASC, id ASC"), ("日期", "desc", "`日期` DESC, id DESC"),
            ("股票代码", "desc", "`股票代码` DESC, `日期` DESC, id DESC"),
        };
        foreach (var (sortBy, direction, orderBy) in orders)
        {
            foreach (var number in new[] { 1, 600, 101, 1199, 1200 })
            {
                var expected = (await db.QueryAsync<long>($"SELECT id FROM ak_stock_warm_hist ORDER BY {orderBy} LIMIT 100 OFFSET {(number - 1) * 100}")).ToList();
                var page = await DataAsync(client, "ak_stock_warm_hist", $"{Sort(sortBy, direction)}&page_size=100&page={number}");
                Assert.Equal(120_000, page["total"]!.GetValue<long>());
                Assert.Equal(expected, Ids(page));
            }
        }
    }

    [Fact]
    public async Task Sorting_a_large_table_by_a_column_without_an_index_builds_one_and_pages_stay_the_rows_at_their_offset()
    {
        var client = await LargeTableAsync();
        await using var db = await app.OpenDatabaseAsync();
        async Task<List<string>> IndexesOn(string table, string column) => (await db.QueryAsync<string>(
            "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND COLUMN_NAME = @column AND SEQ_IN_INDEX = 1",
            new { table, column })).ToList();
        Assert.Empty(await IndexesOn("ak_stock_warm_hist", "收盘"));

        // A small table sorted the same way is sorted on request and left as it is.
        await DataAsync(client, "ak_stock_zh_a_hist", $"{Sort("收盘", "desc")}&page_size=10");

        async Task SamePagesAsync()
        {
            foreach (var (direction, number) in new[] { ("asc", 1), ("asc", 600), ("desc", 600), ("desc", 1200) })
            {
                var expected = (await db.QueryAsync<long>(
                    $"SELECT id FROM ak_stock_warm_hist ORDER BY `收盘` {direction}, id {direction} LIMIT 100 OFFSET {(number - 1) * 100}")).ToList();
                var page = await DataAsync(client, "ak_stock_warm_hist", $"{Sort("收盘", direction)}&page_size=100&page={number}");
                Assert.Equal(expected, Ids(page));
            }
        }

        await SamePagesAsync();
        var before = await DataAsync(client, "ak_stock_warm_hist", $"{Sort("收盘", "asc")}&page_size=100&page=700");

        List<string> built = [];
        for (var waited = 0; waited < 600 && built.Count == 0; waited++)
        {
            await Task.Delay(100);
            built = await IndexesOn("ak_stock_warm_hist", "收盘");
        }

        Assert.Equal(["ix_sort_收盘"], built);
        var schema = (await (await client.GetAsync("/api/tables/ak_stock_warm_hist/schema")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("MUL", schema["columns"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "收盘")!["key"]!.GetValue<string>());
        await SamePagesAsync();

        // A cursor handed out before the index goes on where it left off.
        var next = await DataAsync(client, "ak_stock_warm_hist", $"{Sort("收盘", "asc")}&page_size=100&cursor={Uri.EscapeDataString(before["next_cursor"]!.GetValue<string>())}");
        Assert.Equal((await db.QueryAsync<long>("SELECT id FROM ak_stock_warm_hist ORDER BY `收盘`, id LIMIT 100 OFFSET 70000")).ToList(), Ids(next));
        Assert.Empty(await IndexesOn("ak_stock_zh_a_hist", "收盘"));
    }
    [Theory]
    [InlineData("filter=1")]
    [InlineData("filter[id][]=1")]
    [InlineData("filter[]=1")]
    [InlineData("filter[id=1")]
    [InlineData("Filter[id]=1")]
    public async Task A_filter_written_wrongly_is_a_422_not_every_row(string query)
    {
        var client = await CollectedAsync();
        await (await client.GetAsync($"/api/tables/ak_stock_zh_a_hist/data?{query}")).ExpectAsync(422, 3001);
        await (await client.GetAsync($"/api/tables/ak_stock_zh_a_hist/export?{query}")).ExpectAsync(422, 3001);
    }
}
