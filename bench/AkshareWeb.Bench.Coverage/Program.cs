// Coverage benchmark: a table of daily bars shaped as the library's stock_zh_a_hist writes it (key 股票代码, 日期,
// period, adjust; the unique index ux_natural_key on the key and ix_key_1 on 日期, as the engine builds them),
// <keys> symbols x the last <days> trading days up to the last close, one in ten symbols with three holes and one in
// a hundred stopped 20 days early, then timed through the service's own CoverageReader (the code behind
// GET /api/tables/{table}/coverage):
//   - the summary of the whole table (what the table views and the metric show);
//   - one key's missing dates (filter[股票代码]=<a symbol with holes>);
//   - a page of 100 keys with gaps (status=gaps), their dates named;
// beside the floor of any reading of every row, a plain COUNT(*) over the same index: on a loaded machine the ratio to
// it says more than the milliseconds.
//   dotnet run -c Release --project bench/AkshareWeb.Bench.Coverage -- "<server connection string>" [keys] [days] [repeats]
// It creates and drops a database coveragebench_<random>.
using System.Diagnostics;
using System.Globalization;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Tables;
using AkshareWeb.Features.Warehouse;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using MySqlConnector;

var server = args.Length > 0 ? args[0] : throw new ArgumentException("usage: <server connection string> [keys] [days] [repeats]");
var keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4000;
var dayCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 250;
var repeats = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 7;
const string Table = "ak_stock_zh_a_hist";

var name = "coveragebench_" + Guid.NewGuid().ToString("N")[..8];
await using (var admin = new MySqlConnection(server))
{
    await admin.ExecuteAsync($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
}

var appDb = new MySqlConnectionStringBuilder(server) { Database = name, AllowLoadLocalInfile = true }.ConnectionString;
try
{
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:AkshareWeb"] = appDb }).Build();
    var services = new ServiceCollection()
        .AddSingleton<IConfiguration>(configuration)
        .AddLogging()
        .AddSingleton(TimeProvider.System)
        .AddSingleton<Database>()
        .AddSingleton<WarehouseDatabase>()
        .AddSingleton<TableChanges>()
        .AddSingleton<WarehouseTables>()
        .AddSingleton<ManagedTables>()
        .AddSingleton<ConfirmedEmptyDays>()
        .AddSingleton<CoverageReader>()
        .AddMarketTime(configuration)
        .AddTradingCalendar();
    await using var provider = services.BuildServiceProvider();
    await new SchemaMigrator(provider.GetRequiredService<Database>(), TimeProvider.System, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);

    var market = provider.GetRequiredService<MarketTime>();
    var calendar = CalendarSnapshot.Days;
    var last = calendar.LastClosed(market.Now, market.CloseTime) ?? throw new InvalidOperationException("the calendar has no closed day");
    var lastIndex = calendar.IndexOnOrAfter(last);
    var days = Enumerable.Range(lastIndex - dayCount + 1, dayCount).Select(i => calendar[i]).ToList();

    var load = Stopwatch.StartNew();
    var file = Path.Combine(Path.GetTempPath(), name + ".tsv");
    long rows = 0;
    await using (var writer = new StreamWriter(file))
    {
        for (var k = 0; k < keys; k++)
        {
            var symbol = (600000 + k).ToString("D6", CultureInfo.InvariantCulture);
            var holes = k % 10 == 3 ? new HashSet<int> { 17, 18, 120 } : [];
            var end = k % 100 == 7 ? days.Count - 20 : days.Count;
            for (var i = 0; i < end; i++)
            {
                if (holes.Contains(i)) continue;
                var close = 10 + (i % 50 * 0.1);
                await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{days[i]:yyyy-MM-dd}\t{symbol}\t{close - 0.1:0.00}\t{close:0.00}\t{close + 0.2:0.00}\t{close - 0.3:0.00}\t{100000 + i}\t{(100000 + i) * close * 100:0.0}\tdaily\t"));
                rows++;
            }
        }
    }

    await using (var db = new MySqlConnection(appDb))
    {
        await db.OpenAsync();
        await db.ExecuteAsync($"""
            CREATE TABLE `{Table}` (
              id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
              `日期` DATE NULL, `股票代码` VARCHAR(16) NULL, `开盘` DOUBLE NULL, `收盘` DOUBLE NULL, `最高` DOUBLE NULL, `最低` DOUBLE NULL,
              `成交量` BIGINT NULL, `成交额` DOUBLE NULL, period VARCHAR(16) NULL, adjust VARCHAR(16) NULL,
              _execution_id VARCHAR(40) NULL, _collected_at DATETIME(6) NULL, _row_hash BINARY(16) NULL
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
            """);
        var loader = new MySqlBulkLoader(db)
        {
            TableName = Table, FileName = file, Local = true, FieldTerminator = "\t", LineTerminator = "\n", CharacterSet = "utf8mb4",
            Columns = { "`日期`", "`股票代码`", "`开盘`", "`收盘`", "`最高`", "`最低`", "`成交量`", "`成交额`", "period", "adjust" },
        };
        await loader.LoadAsync();
        await db.ExecuteAsync($"ALTER TABLE `{Table}` ADD UNIQUE INDEX ux_natural_key (`股票代码`, `日期`, period, adjust), ADD INDEX ix_key_1 (`日期`)", commandTimeout: 0);
        await db.ExecuteAsync($"ANALYZE TABLE `{Table}`");
        await db.ExecuteAsync("""
            INSERT INTO warehouse_tables (table_name, display_name, category, script_id, interface_name, write_mode, key_columns, created_at, last_updated_at)
            VALUES (@Table, 'A股历史行情', 'stocks', 'stock_zh_a_hist', 'stock_zh_a_hist', 'upsert', '["股票代码", "日期", "period", "adjust"]', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
            """, new { Table });
    }

    File.Delete(file);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"AkshareWeb coverage benchmark: {Table}, {keys:N0} keys x {dayCount} trading days ({days[0]:yyyy-MM-dd} to {days[^1]:yyyy-MM-dd}) = {rows:N0} rows, loaded and indexed in {load.Elapsed.TotalSeconds:0.0} s; {Environment.ProcessorCount} cores"));

    var reader = provider.GetRequiredService<CoverageReader>();
    var withHoles = (600000 + 3).ToString("D6", CultureInfo.InvariantCulture);
    var measures = new (string What, Func<Task<string>> Run)[]
    {
        // The floor of any answer about every row: one pass over the natural key's index, nothing computed.
        ("floor: SELECT COUNT(*) over the natural key's index", async () =>
        {
            await using var db = new MySqlConnection(appDb);
            var counted = await db.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM `{Table}` FORCE INDEX (ux_natural_key)");
            return string.Create(CultureInfo.InvariantCulture, $"{counted:N0} rows");
        }),
        ("summary of the whole table", async () =>
        {
            var r = await reader.ReadAsync(Table, new CoverageRequest(null, null, CoverageReader.All, QueryCollection.Empty, null), CancellationToken.None);
            return string.Create(CultureInfo.InvariantCulture, $"{r.Summary.Keys:N0} keys, {r.Summary.WithGaps:N0} with gaps, {r.Summary.Stale:N0} stale, {r.Summary.MissingDays:N0} missing");
        }),
        ($"one key's missing dates (filter[股票代码]={withHoles})", async () =>
        {
            var filter = new QueryCollection(new Dictionary<string, StringValues> { ["filter[股票代码]"] = withHoles });
            var r = await reader.ReadAsync(Table, new CoverageRequest(null, null, CoverageReader.All, filter, new PageRequest(1, 20)), CancellationToken.None);
            return string.Join(", ", r.Items.Single().Missing.Select(d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        }),
        ("a page of 100 keys with gaps, dates named (status=gaps)", async () =>
        {
            var r = await reader.ReadAsync(Table, new CoverageRequest(null, null, CoverageReader.Gaps, QueryCollection.Empty, new PageRequest(1, 100)), CancellationToken.None);
            return string.Create(CultureInfo.InvariantCulture, $"{r.Items.Count} keys of {r.Total:N0}, {r.Items.Sum(i => i.Missing.Count):N0} dates named");
        }),
    };

    Console.WriteLine("| measure | first | median | min | max | answer |");
    Console.WriteLine("|---|---|---|---|---|---|");
    foreach (var (what, run) in measures)
    {
        var times = new List<double>();
        var answer = "";
        for (var i = 0; i <= repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            answer = await run();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        var warm = times.Skip(1).Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {what} | {times[0]:0} ms | {warm[warm.Count / 2]:0} ms | {warm[0]:0} ms | {warm[^1]:0} ms | {answer} |"));
    }
}
finally
{
    // COVERAGE_BENCH_KEEP=1 keeps the database, to look at the queries' plans afterwards.
    if (Environment.GetEnvironmentVariable("COVERAGE_BENCH_KEEP") != "1")
    {
        await using var admin = new MySqlConnection(server);
        await admin.ExecuteAsync($"DROP DATABASE IF EXISTS `{name}`");
    }
    else
    {
        Console.WriteLine($"kept database {name}");
    }
}

return 0;
