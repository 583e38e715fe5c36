using System.IO.Compression;
using System.Text;
using System.Xml.Linq;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using MiniExcelLibs;
using Parquet;
using Parquet.Schema;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// Exports read by programs: CSV that tells NULL from an empty string and writes text as stored when asked
/// (excel_safe=false), Parquet with each column's type from the MySQL catalogue, and Excel with date cells and a bold
/// header.
/// </summary>
public sealed class BulkExportTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private const string Table = "ak_bulk_types";

    /// <summary>
    /// A table of every type the engine writes, made by SQL: a row of values (adjust the empty string, 备注 text a
    /// spreadsheet would take for a formula), a row of NULLs, and a row of negative numbers. Registered as managed.
    /// </summary>
    private async Task<HttpClient> TypesAsync()
    {
        var (client, _, _) = await app.NewUserAsync();
        await using var db = await app.OpenDatabaseAsync();
        await db.ExecuteAsync($"""
            CREATE TABLE IF NOT EXISTS {Table} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `日期` DATE NULL COMMENT '日期',
              `时间` DATETIME(6) NULL COMMENT '时间', `股票代码` VARCHAR(16) NULL COMMENT '股票代码', `adjust` VARCHAR(8) NULL COMMENT 'adjust',
              `成交量` BIGINT NULL COMMENT '成交量', `收盘` DOUBLE NULL COMMENT '收盘', `成交额` DECIMAL(20,4) NULL COMMENT '成交额',
              `停牌` TINYINT(1) NULL COMMENT '停牌', `备注` TEXT NULL COMMENT '备注',
              _execution_id VARCHAR(40) NOT NULL, _collected_at DATETIME(6) NOT NULL, _row_key BINARY(32) NOT NULL, _row_hash BINARY(32) NOT NULL,
              UNIQUE KEY ux_row_key (_row_key)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
            INSERT IGNORE INTO {Table} VALUES
              (1, '2024-01-02', '2024-01-02 09:30:00.5', '000001', '', 1234567890123, 10.5, 12345.6789, 0, '@SUM(1)', 'exec_types', '2026-12-07 01:02:03.000004', UNHEX(SHA2('1', 256)), UNHEX(SHA2('1', 256))),
              (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'exec_types', '2026-12-07 01:02:03.000004', UNHEX(SHA2('2', 256)), UNHEX(SHA2('2', 256))),
              (3, '2024-01-03', '2024-01-03 15:00:00', '600519', 'qfq', -5, -1.25, -0.5, 1, '=1+1,"x"', 'exec_types', '2026-12-07 01:02:03.000004', UNHEX(SHA2('3', 256)), UNHEX(SHA2('3', 256)));
            INSERT IGNORE INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at)
            VALUES ('{Table}', '类型', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            """);
        return client;
    }

    private const string Header = "id,日期,时间,股票代码,adjust,成交量,收盘,成交额,停牌,备注,_execution_id,_collected_at\n";
    private const string NullRow = "2,,,,,,,,,,exec_types,2026-12-07T01:02:03.000004Z\n";

    private static async Task<byte[]> BytesAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync($"/api/tables/{Table}/export?{query}");
        Assert.Equal(200, (int)response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static byte[] Utf8WithBom(string text) => [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)];

    [Fact]
    public async Task Csv_writes_null_as_an_empty_field_and_an_empty_string_quoted_with_the_formula_guard_by_default()
    {
        var client = await TypesAsync();
        var expected = Header
            + "1,2024-01-02,2024-01-02T09:30:00.5,000001,\"\",1234567890123,10.5,12345.6789,False,'@SUM(1),exec_types,2026-12-07T01:02:03.000004Z\n"
            + NullRow
            + "3,2024-01-03,2024-01-03T15:00:00,600519,qfq,-5,-1.25,-0.5000,True,\"'=1+1,\"\"x\"\"\",exec_types,2026-12-07T01:02:03.000004Z\n";
        Assert.Equal(Utf8WithBom(expected), await BytesAsync(client, "format=csv&sort_by=id"));
        Assert.Equal(Utf8WithBom(expected), await BytesAsync(client, "format=csv&sort_by=id&excel_safe=true"));
    }

    [Fact]
    public async Task Csv_with_excel_safe_false_writes_text_as_stored()
    {
        var client = await TypesAsync();
        var expected = Header
            + "1,2024-01-02,2024-01-02T09:30:00.5,000001,\"\",1234567890123,10.5,12345.6789,False,@SUM(1),exec_types,2026-12-07T01:02:03.000004Z\n"
            + NullRow
            + "3,2024-01-03,2024-01-03T15:00:00,600519,qfq,-5,-1.25,-0.5000,True,\"=1+1,\"\"x\"\"\",exec_types,2026-12-07T01:02:03.000004Z\n";
        Assert.Equal(Utf8WithBom(expected), await BytesAsync(client, "format=csv&sort_by=id&excel_safe=false"));
    }

    [Fact]
    public async Task Parquet_keeps_each_columns_type_its_values_and_its_nulls()
    {
        var client = await TypesAsync();
        var response = await client.GetAsync($"/api/tables/{Table}/export?format=parquet&sort_by=id");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/vnd.apache.parquet", response.Content.Headers.ContentType!.MediaType);
        Assert.EndsWith(".parquet\"", response.Content.Headers.ContentDisposition!.ToString().Split(';')[1], StringComparison.Ordinal);
        await using var file = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
        await using var reader = await ParquetReader.CreateAsync(file, new ParquetOptions { UseDateOnlyTypeForDates = true });

        // The types as any reader sees them. The file carries no Arrow schema of its own, so pyarrow (and pandas'
        // read_parquet) takes its types from these, by its documented mapping (README, "Python and pandas"): date32,
        // timestamp[us], timestamp[us, tz=UTC], int64, double, decimal128(20, 4), bool, string.
        Assert.DoesNotContain("ARROW:schema", reader.CustomMetadata.Keys);
        var elements = reader.Metadata!.Schema.Skip(1).ToDictionary(e => e.Name);
        Assert.Equal(["id", "日期", "时间", "股票代码", "adjust", "成交量", "收盘", "成交额", "停牌", "备注", "_execution_id", "_collected_at"], elements.Keys);
        // Every column may hold NULL, and a NULL is a null (not 0, NaN or an empty string).
        Assert.All(elements.Values, e => Assert.Equal(Parquet.Meta.FieldRepetitionType.OPTIONAL, e.RepetitionType));
        Assert.Equal(Parquet.Meta.Type.INT32, elements["日期"].Type);
        Assert.NotNull(elements["日期"].LogicalType!.DATE);
        foreach (var timestamp in new[] { "时间", "_collected_at" })
        {
            Assert.Equal(Parquet.Meta.Type.INT64, elements[timestamp].Type);
            Assert.NotNull(elements[timestamp].LogicalType!.TIMESTAMP!.Unit.MICROS);
        }

        Assert.False(elements["时间"].LogicalType!.TIMESTAMP!.IsAdjustedToUTC);
        Assert.True(elements["_collected_at"].LogicalType!.TIMESTAMP!.IsAdjustedToUTC);
        foreach (var integer in new[] { "id", "成交量" })
        {
            Assert.Equal(Parquet.Meta.Type.INT64, elements[integer].Type);
            Assert.Equal(64, (int)elements[integer].LogicalType!.INTEGER!.BitWidth);
            Assert.True(elements[integer].LogicalType!.INTEGER!.IsSigned);
        }

        Assert.Equal(Parquet.Meta.Type.DOUBLE, elements["收盘"].Type);
        Assert.Equal(Parquet.Meta.Type.FIXED_LEN_BYTE_ARRAY, elements["成交额"].Type);
        Assert.Equal((20, 4), (elements["成交额"].LogicalType!.DECIMAL!.Precision, elements["成交额"].LogicalType!.DECIMAL!.Scale));
        Assert.Equal(Parquet.Meta.Type.BOOLEAN, elements["停牌"].Type);
        foreach (var text in new[] { "股票代码", "adjust", "备注", "_execution_id" })
        {
            Assert.Equal(Parquet.Meta.Type.BYTE_ARRAY, elements[text].Type);
            Assert.NotNull(elements[text].LogicalType!.STRING);
        }

        Assert.Equal(1, reader.RowGroupCount);
        using var group = reader.OpenRowGroupReader(0);
        Assert.Equal(3, group.RowCount);
        var fields = reader.Schema.GetDataFields().ToDictionary(f => f.Name);
        Assert.Equal([1L, 2L, 3L], await ValuesAsync<long>(group, fields["id"]));
        Assert.Equal([new DateOnly(2024, 1, 2), null, new DateOnly(2024, 1, 3)], await ValuesAsync<DateOnly>(group, fields["日期"]));
        var times = await ValuesAsync<DateTime>(group, fields["时间"]);
        Assert.Equal([new DateTime(2024, 1, 2, 9, 30, 0, 500).Ticks, (long?)null, new DateTime(2024, 1, 3, 15, 0, 0).Ticks], times.Select(t => t?.Ticks));
        Assert.Equal<IEnumerable<string?>>(["000001", null, "600519"], await TextAsync(group, fields["股票代码"]));
        // An empty string stays one, apart from NULL; text is as stored, with no formula guard.
        Assert.Equal<IEnumerable<string?>>(["", null, "qfq"], await TextAsync(group, fields["adjust"]));
        Assert.Equal<IEnumerable<string?>>(["@SUM(1)", null, "=1+1,\"x\""], await TextAsync(group, fields["备注"]));
        Assert.Equal([1234567890123L, null, -5L], await ValuesAsync<long>(group, fields["成交量"]));
        Assert.Equal([10.5, null, -1.25], await ValuesAsync<double>(group, fields["收盘"]));
        Assert.Equal([12345.6789m, null, -0.5m], await ValuesAsync<decimal>(group, fields["成交额"]));
        Assert.Equal([false, null, true], await ValuesAsync<bool>(group, fields["停牌"]));
        var collected = await ValuesAsync<DateTime>(group, fields["_collected_at"]);
        Assert.All(collected, c => Assert.Equal(new DateTime(2026, 12, 7, 1, 2, 3).AddTicks(40).Ticks, c!.Value.Ticks));
    }

    [Fact]
    public async Task Parquet_takes_the_filters_and_sort_of_the_csv_export()
    {
        var client = await TypesAsync();
        const string query = "sort_by=%E6%94%B6%E7%9B%98&sort_order=desc&filter%5B%E6%97%A5%E6%9C%9F%5D%5Bgte%5D=20240101";
        var csv = Encoding.UTF8.GetString(await BytesAsync(client, "format=csv&" + query)).TrimStart('\uFEFF');
        var csvIds = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(line => long.Parse(line.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal([1L, 3L], csvIds);

        await using var file = new MemoryStream(await BytesAsync(client, "format=parquet&" + query));
        await using var reader = await ParquetReader.CreateAsync(file);
        using var group = reader.OpenRowGroupReader(0);
        Assert.Equal(csvIds.Cast<long?>(), await ValuesAsync<long>(group, reader.Schema.GetDataFields().First(f => f.Name == "id")));

        // limit too.
        await using var limited = new MemoryStream(await BytesAsync(client, "format=parquet&limit=1&" + query));
        await using var one = await ParquetReader.CreateAsync(limited);
        Assert.Equal(1, one.OpenRowGroupReader(0).RowCount);
    }

    [Fact]
    public async Task Parquet_of_a_bigger_table_comes_in_row_groups_of_50000_rows()
    {
        var (client, _, _) = await app.NewUserAsync();
        const string big = "ak_bulk_rows";
        const string digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync($"""
                CREATE TABLE {big} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `日期` DATE NULL COMMENT '日期', `收盘` DOUBLE NULL COMMENT '收盘',
                  _execution_id VARCHAR(40) NOT NULL, _collected_at DATETIME(6) NOT NULL, _row_key BINARY(16) NOT NULL, _row_hash BINARY(16) NOT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
                INSERT INTO {big} (`日期`, `收盘`, _execution_id, _collected_at, _row_key, _row_hash)
                SELECT DATE('2000-01-03') + INTERVAL (n % 4000) DAY, n / 100, 'exec_rows', UTC_TIMESTAMP(6), UNHEX(MD5(n)), UNHEX(MD5(n))
                FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d AS n FROM {digit} a, {digit} b, {digit} c, {digit} e, {digit} f, {digit} g) numbers
                WHERE n < 120001;
                INSERT INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at)
                VALUES ('{big}', '行', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
                """);
        }

        var response = await client.GetAsync($"/api/tables/{big}/export?format=parquet");
        Assert.Equal(200, (int)response.StatusCode);
        await using var file = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
        await using var reader = await ParquetReader.CreateAsync(file);
        Assert.Equal([50_000L, 50_000L, 20_001L], Enumerable.Range(0, reader.RowGroupCount).Select(i => reader.OpenRowGroupReader(i).RowCount));
        using var last = reader.OpenRowGroupReader(2);
        var ids = await ValuesAsync<long>(last, reader.Schema.GetDataFields().First(f => f.Name == "id"));
        Assert.Equal(Enumerable.Range(100_001, 20_001).Select(i => (long?)i), ids);
    }

    [Fact]
    public async Task Excel_writes_dates_as_date_cells_with_a_date_format_under_a_bold_header()
    {
        var client = await TypesAsync();
        var response = await client.GetAsync($"/api/tables/{Table}/export?format=excel&sort_by=id");
        Assert.Equal(200, (int)response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);

        // Every part reads back whole (its CRC-32 checked), the rewritten styles among them.
        var parts = new Dictionary<string, XDocument>(StringComparer.Ordinal);
        await using (var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read))
        {
            foreach (var entry in zip.Entries)
            {
                await using var part = entry.Open();
                using var text = new MemoryStream();
                await part.CopyToAsync(text);
                text.Position = 0;
                if (entry.FullName.EndsWith(".xml", StringComparison.Ordinal)) parts[entry.FullName] = XDocument.Load(text);
            }
        }

        XNamespace ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
        var styles = parts["xl/styles.xml"].Root!;
        var formats = styles.Element(ns + "numFmts")!.Elements(ns + "numFmt").ToDictionary(f => (string)f.Attribute("numFmtId")!, f => (string)f.Attribute("formatCode")!);
        var cellStyles = styles.Element(ns + "cellXfs")!.Elements(ns + "xf").ToList();
        var fonts = styles.Element(ns + "fonts")!.Elements(ns + "font").ToList();
        var cells = parts["xl/worksheets/sheet1.xml"].Descendants(ns + "c").ToDictionary(c => (string)c.Attribute("r")!);
        XElement Style(string cell) => cellStyles[(int?)cells[cell].Attribute("s") ?? 0];

        // The header: bold.
        foreach (var header in new[] { "A1", "B1", "C1", "L1" }) Assert.NotNull(fonts[(int)Style(header).Attribute("fontId")!].Element(ns + "b"));
        // Data cells: not bold.
        Assert.Null(fonts[(int)Style("D2").Attribute("fontId")!].Element(ns + "b"));

        // 日期 (B) a date cell: a number (no t="s"/"str"/"inlineStr") in a date format; 时间 (C) and _collected_at (L) with the time.
        Assert.Null(cells["B2"].Attribute("t"));
        Assert.Equal(new DateTime(2024, 1, 2).ToOADate(), double.Parse(cells["B2"].Element(ns + "v")!.Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("yyyy-mm-dd", formats[(string)Style("B2").Attribute("numFmtId")!]);
        Assert.Null(cells["C2"].Attribute("t"));
        Assert.Equal(new DateTime(2024, 1, 2, 9, 30, 0, 500).ToOADate(), double.Parse(cells["C2"].Element(ns + "v")!.Value, System.Globalization.CultureInfo.InvariantCulture), 1e-9);
        Assert.Equal("yyyy-mm-dd hh:mm:ss", formats[(string)Style("C2").Attribute("numFmtId")!]);
        Assert.Equal("yyyy-mm-dd hh:mm:ss", formats[(string)Style("L2").Attribute("numFmtId")!]);
        // The row of NULLs has no date.
        Assert.Null(cells.GetValueOrDefault("B3")?.Element(ns + "v"));

        // A spreadsheet reader sees dates.
        var rows = new MemoryStream(bytes).Query(useHeaderRow: true).Cast<IDictionary<string, object>>().ToList();
        Assert.Equal(new DateTime(2024, 1, 2), rows[0]["日期"]);
        Assert.Equal(new DateTime(2024, 1, 3, 15, 0, 0), rows[2]["时间"]);
        Assert.Equal("'@SUM(1)", rows[0]["备注"]);
    }

    private static async Task<T?[]> ValuesAsync<T>(ParquetRowGroupReader group, DataField field) where T : struct
    {
        var values = new T?[group.RowCount];
        await group.ReadAsync(field, values.AsMemory());
        return values;
    }

    private static async Task<string?[]> TextAsync(ParquetRowGroupReader group, DataField field)
    {
        var values = new string?[group.RowCount];
        await group.ReadAsync(field, values.AsMemory());
        return values;
    }
}
