// Health-check benchmark: a table of daily bars shaped as the library's stock_zh_a_hist writes it (key 股票代码, 日期,
// period, adjust; the unique index ux_natural_key on the key and ix_key_1 on 日期, as the engine builds them),
// <keys> symbols x the last <days> trading days up to the last close, one symbol in a hundred with a bad row of each
// kind, then timed through the service's own health code (HealthQuery's SQL, HealthRules, HealthStore):
//   - the whole table checked and its findings kept (GET /api/tables/{table}/health on a table changed since);
//   - the last 20 trading days checked (from=...&to=...);
//   - the check after a run that wrote the last 5 days of 5 symbols (their _execution_id), the close before included;
//   - a page of 100 findings read from what was kept;
// beside the floor of any reading of every row, a plain COUNT(*) over the natural key's index.
//   dotnet run -c Release --project bench/AkshareWeb.Bench.Health -- "<server connection string>" [keys] [days] [repeats]
// It creates and drops a database healthbench_<random>.
using System.Diagnostics;
using System.Globalization;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Tables;
using AkshareWeb.Features.Warehouse;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;

var server = args.Length > 0 ? args[0] : throw new ArgumentException("usage: <server connection string> [keys] [days] [repeats]");
var keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4000;
var dayCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 250;
var repeats = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
const string Table = "ak_stock_zh_a_hist";
const string Run = "bench-run";

var name = "healthbench_" + Guid.NewGuid().ToString("N")[..8];
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
        .AddSingleton<HealthStore>()
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
            var bad = k % 100 == 5;
            var touched = k < 5;
            for (var i = 0; i < days.Count; i++)
            {
                var close = 10 + (i % 50 * 0.1);
                var (open, high, low, volume) = (close - 0.1, close + 0.2, close - 0.3, 100000L + i);
                if (bad && i == 10) close = 0;
                if (bad && i == 20) high = low - 1;
                if (bad && i == 30) close *= 2;
                if (bad && i == 40) volume = 0;
                var closeText = bad && i == 50 ? "\\N" : close.ToString("0.00", CultureInfo.InvariantCulture);
                var execution = touched && i >= days.Count - 5 ? Run : "bench-load";
                await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{days[i]:yyyy-MM-dd}\t{symbol}\t{open:0.00}\t{closeText}\t{high:0.00}\t{low:0.00}\t{volume}\t{volume * close * 100:0.0}\tdaily\t\t{execution}"));
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
            Columns = { "`日期`", "`股票代码`", "`开盘`", "`收盘`", "`最高`", "`最低`", "`成交量`", "`成交额`", "period", "adjust", "_execution_id" },
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
        $"AkshareWeb health benchmark: {Table}, {keys:N0} keys x {dayCount} trading days ({days[0]:yyyy-MM-dd} to {days[^1]:yyyy-MM-dd}) = {rows:N0} rows, loaded and indexed in {load.Elapsed.TotalSeconds:0.0} s; {Environment.ProcessorCount} cores"));

    var coverage = await CoverageShape.ResolveAsync(provider.GetRequiredService<ManagedTables>(), provider.GetRequiredService<WarehouseTables>(),
        provider.GetRequiredService<WarehouseDatabase>(), Table, CancellationToken.None);
    TableColumn Column(string original) => coverage.Table.Columns.Single(c => c.OriginalName == original);
    var shape = new HealthShape(coverage, new BarColumns(Column("开盘"), Column("最高"), Column("最低"), Column("收盘"), Column("成交量"), "names"));
    var store = provider.GetRequiredService<HealthStore>();
    var context = new HealthRules.Context(calendar, market.Today, 0.5, true, (_, _) => false);

    async Task<string> CheckAsync(HealthScope scope)
    {
        await using var connection = new MySqlConnection(appDb);
        await connection.OpenAsync();
        var written = await store.ReplaceAsync(Table, scope, TableHealth.FindingsAsync(connection, shape, scope, context, CancellationToken.None), null, CancellationToken.None);
        return string.Create(CultureInfo.InvariantCulture, $"{written:N0} findings");
    }

    var measures = new (string What, Func<Task<string>> Run)[]
    {
        ("floor: SELECT COUNT(*) over the natural key's index", async () =>
        {
            await using var db = new MySqlConnection(appDb);
            var counted = await db.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM `{Table}` FORCE INDEX (ux_natural_key)");
            return string.Create(CultureInfo.InvariantCulture, $"{counted:N0} rows");
        }),
        ("whole table checked, findings kept", () => CheckAsync(HealthScope.Whole)),
        ($"last 20 trading days checked (from={days[^20]:yyyy-MM-dd})", () => CheckAsync(new HealthScope(days[^20], days[^1], null))),
        ("after a run that wrote 5 days of 5 symbols: its keys found, checked", async () =>
        {
            await using var connection = new MySqlConnection(appDb);
            await connection.OpenAsync();
            var touched = await HealthQuery.TouchedAsync(connection, coverage, Run, CancellationToken.None);
            return touched.Count + " keys, " + await CheckAsync(new HealthScope(null, null, touched));
        }),
        ("a page of 100 findings read from what was kept", async () =>
        {
            var (items, total) = await store.PageAsync(Table, null, null, null, new PageRequest(2, 100), CancellationToken.None);
            return string.Create(CultureInfo.InvariantCulture, $"{items.Count} of {total:N0}");
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
    // HEALTH_BENCH_KEEP=1 keeps the database, to look at the queries' plans afterwards.
    if (Environment.GetEnvironmentVariable("HEALTH_BENCH_KEEP") != "1")
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
