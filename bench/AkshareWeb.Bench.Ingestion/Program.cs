// Ingestion benchmark: N rows of daily bars served by a fake AKTools (streamed), ingested by the engine into an
// empty table and again (all duplicates), beside LOAD DATA LOCAL INFILE of the same rows as CSV.
//   dotnet run -c Release --project bench/AkshareWeb.Bench.Ingestion -- "<server connection string>" [rows]
// The engine runs in a child process of its own, so its peak memory (VmHWM) is the engine's alone.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

if (args.Length >= 1 && args[0] == "--ingest")
{
    // Child: run the engine twice against the given AKTools and database; print seconds and peak memory.
    var (connection, baseUrl) = (args[1], args[2]);
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:AkshareWeb"] = connection }).Build();
    var services = new ServiceCollection()
        .AddSingleton<IConfiguration>(configuration)
        .AddLogging()
        .AddSingleton<Database>()
        .AddSingleton<WarehouseDatabase>()
        .AddSingleton<AkshareWeb.Features.Settings.SystemSettings>()
        .AddMarketTime(configuration)
        .AddExecutionRunners(configuration)
        // The site families come from the catalogue (empty here: every function counts as its name tells).
        .AddSingleton<AkshareWeb.Features.Interfaces.InterfaceCatalog>()
        .Configure<AkToolsOptions>(o => (o.BaseUrl, o.TimeoutSeconds) = (baseUrl, 1800));
    services.AddHttpClient<AkToolsClient>(http => http.Timeout = TimeSpan.FromMinutes(30));
    await using var provider = services.BuildServiceProvider();
    var runner = provider.GetRequiredService<ExecutionRunner>();
    var executions = provider.GetRequiredService<ExecutionStore>();
    foreach (var label in new[] { "first", "again" })
    {
        var plan = new ExecutionPlan("bench_daily_bars", new Dictionary<string, string>(), "ak_bench_daily_bars", WriteModes.Upsert,
            ["股票代码", "日期"], new Dictionary<string, string>(), "manual");
        var id = (await executions.CreateAsync(plan, CancellationToken.None))!;
        var watch = Stopwatch.StartNew();
        var outcome = await runner.RunNowAsync(id, CancellationToken.None);
        Console.WriteLine($"{label} {watch.Elapsed.TotalSeconds.ToString(CultureInfo.InvariantCulture)} {outcome!.Status} {outcome.RowsAffected}");
        if (outcome.Error is not null) Console.Error.WriteLine($"{label}: {outcome.Error}");
        var gc = GC.GetGCMemoryInfo();
        Console.Error.WriteLine($"gc {label}: heap {gc.HeapSizeBytes >> 20} MB, committed {gc.TotalCommittedBytes >> 20} MB, loh {gc.GenerationInfo[3].SizeAfterBytes >> 20} MB, gen2 {gc.GenerationInfo[2].SizeAfterBytes >> 20} MB, collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, ws {Environment.WorkingSet >> 20} MB, cpu {System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:0.0} s");
    }

    var hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM", StringComparison.Ordinal));
    Console.WriteLine("peak " + hwm.Split(':')[1].Trim());
    return 0;
}

var server = args.Length > 0 ? args[0] : throw new ArgumentException("usage: <server connection string> [rows]");
var rows = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
var database = "ingestbench_" + Guid.NewGuid().ToString("N")[..8];
await using (var admin = new MySqlConnection(server))
{
    await admin.ExecuteAsync($"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
}

var appDb = new MySqlConnectionStringBuilder(server) { Database = database, AllowLoadLocalInfile = true }.ConnectionString;
try
{
    // The application schema the engine writes its executions into.
    var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:AkshareWeb"] = appDb }).Build();
    await new SchemaMigrator(new Database(config), TimeProvider.System, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);

    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.ClearProviders();
    var fake = builder.Build();
    // The answer is written to a file first and served from it, so the fake AKTools spends no CPU formatting
    // JSON while the engine is timed (the real one is another process, often another machine).
    var answerFile = Path.Combine(Path.GetTempPath(), $"{database}.json");
    await using (var answer = new StreamWriter(answerFile, false, new UTF8Encoding(false), 1 << 16))
    {
        var row = new StringBuilder(256);
        await answer.WriteAsync('[');
        for (long i = 0; i < rows; i++)
        {
            row.Clear();
            if (i > 0) row.Append(',');
            Bar(row, i, json: true);
            await answer.WriteAsync(row);
        }

        await answer.WriteAsync(']');
    }

    fake.MapGet("/api/public/{function}", (HttpContext context) => Results.File(answerFile, "application/json"));
    await fake.StartAsync();
    var baseUrl = fake.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    // Started as "dotnet <dll>" or as the apphost: start the child the same way.
    var viaDotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet";
    var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!,
        (viaDotnet ? $"\"{typeof(Program).Assembly.Location}\" " : "") + $"--ingest \"{appDb}\" {baseUrl}")
    {
        RedirectStandardOutput = true,
        UseShellExecute = false,
    })!;
    var output = (await child.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    await child.WaitForExitAsync();
    await fake.StopAsync();

    // Baseline: the same rows as CSV, LOAD DATA LOCAL INFILE into a plain table with the same columns.
    var csv = Path.Combine(Path.GetTempPath(), $"{database}.csv");
    await using (var writer = new StreamWriter(csv, false, new UTF8Encoding(false)))
    {
        var line = new StringBuilder(256);
        for (long i = 0; i < rows; i++)
        {
            line.Clear();
            Bar(line, i, json: false);
            await writer.WriteLineAsync(line.ToString());
        }
    }

    double loadSeconds;
    await using (var connection = new MySqlConnection(appDb))
    {
        await connection.OpenAsync();
        await connection.ExecuteAsync("""
            CREATE TABLE load_baseline (id BIGINT AUTO_INCREMENT PRIMARY KEY, `日期` DATE, `股票代码` VARCHAR(16), `开盘` DOUBLE, `收盘` DOUBLE,
              `最高` DOUBLE, `最低` DOUBLE, `成交量` BIGINT, `成交额` DOUBLE, `振幅` DOUBLE, `涨跌幅` DOUBLE, `涨跌额` DOUBLE, `换手率` DOUBLE)
              DEFAULT CHARSET=utf8mb4
            """);
        var loader = new MySqlBulkLoader(connection)
        {
            FileName = csv, TableName = "load_baseline", Local = true, FieldTerminator = ",", LineTerminator = "\n", CharacterSet = "utf8mb4",
            Timeout = 0,
        };
        loader.Columns.AddRange(["日期", "股票代码", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "振幅", "涨跌幅", "涨跌额", "换手率"]);
        var watch = Stopwatch.StartNew();
        await loader.LoadAsync();
        loadSeconds = watch.Elapsed.TotalSeconds;
    }

    File.Delete(csv);
    File.Delete(answerFile);
    var first = output.First(l => l.StartsWith("first", StringComparison.Ordinal)).Split(' ');
    var again = output.First(l => l.StartsWith("again", StringComparison.Ordinal)).Split(' ');
    var peak = output.First(l => l.StartsWith("peak", StringComparison.Ordinal))[5..];
    double Rate(string seconds) => rows / double.Parse(seconds, CultureInfo.InvariantCulture);
    var loadRate = rows / loadSeconds;
    Console.WriteLine($"AkshareWeb ingestion benchmark: {rows:N0} daily bars (12 columns), {Environment.ProcessorCount} cores");
    Console.WriteLine($"LOAD DATA LOCAL INFILE (CSV, plain table): {loadRate:N0} rows/s ({loadSeconds:0.0} s)");
    Console.WriteLine($"engine, empty table (upsert on 股票代码+日期): {Rate(first[1]):N0} rows/s ({double.Parse(first[1], CultureInfo.InvariantCulture):0.0} s, {first[2]}, {first[3]} rows) = {Rate(first[1]) / loadRate:P0} of LOAD DATA");
    Console.WriteLine($"engine, again (all duplicates): {Rate(again[1]):N0} rows/s ({double.Parse(again[1], CultureInfo.InvariantCulture):0.0} s, {again[2]}, {again[3]} rows changed) = {Rate(again[1]) / loadRate:P0} of LOAD DATA");
    Console.WriteLine($"engine process peak memory (VmHWM): {peak}");
    return 0;
}
finally
{
    await using var admin = new MySqlConnection(server);
    await admin.ExecuteAsync($"DROP DATABASE IF EXISTS `{database}`");
}

static void Bar(StringBuilder b, long i, bool json)
{
    var day = new DateOnly(2000, 1, 3).AddDays((int)(i % 4000));
    var code = (i / 4000).ToString("D6", CultureInfo.InvariantCulture);
    var close = 10 + (i % 1000) / 100.0;
    var c = CultureInfo.InvariantCulture;
    if (json)
    {
        b.Append("{\"日期\":\"").Append(day.ToString("yyyy-MM-dd", c)).Append("T00:00:00.000\",\"股票代码\":\"").Append(code)
         .Append("\",\"开盘\":").Append((close - 0.1).ToString("0.00", c)).Append(",\"收盘\":").Append(close.ToString("0.00", c))
         .Append(",\"最高\":").Append((close + 0.2).ToString("0.00", c)).Append(",\"最低\":").Append((close - 0.3).ToString("0.00", c))
         .Append(",\"成交量\":").Append(100_000 + i).Append(",\"成交额\":").Append((close * 1e7).ToString("0.0", c))
         .Append(",\"振幅\":2.51,\"涨跌幅\":-0.41,\"涨跌额\":-0.05,\"换手率\":0.73}");
    }
    else
    {
        b.Append(day.ToString("yyyy-MM-dd", c)).Append(',').Append(code).Append(',').Append((close - 0.1).ToString("0.00", c)).Append(',')
         .Append(close.ToString("0.00", c)).Append(',').Append((close + 0.2).ToString("0.00", c)).Append(',').Append((close - 0.3).ToString("0.00", c))
         .Append(',').Append(100_000 + i).Append(',').Append((close * 1e7).ToString("0.0", c)).Append(",2.51,-0.41,-0.05,0.73");
    }
}
