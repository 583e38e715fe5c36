// Fan-out benchmark: one parted run of daily bars for N symbols (one year each, 245 trading days) through a fake
// AKTools that answers every call after 50 ms, at an unlimited rate and at a given calls/s for the site family.
//   dotnet run -c Release --project bench/AkshareWeb.Bench.Fanout -- "<server connection string>" [symbols] [rate] [concurrency]
// Each run happens in a child process of its own on a fresh database, so its peak memory (VmHWM) is the run's alone.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Settings;
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
using AkshareWeb.Features.Parameters;
using AkshareWeb.Features.Warehouse;

const string Function = "bench_bars_em";

if (args.Length >= 1 && args[0] == "--run")
{
    // Child: one parted run of args[3] symbols at args[4] calls/s (0: unlimited), args[5] parts at once.
    var (connection, akTools) = (args[1], args[2]);
    var symbols = int.Parse(args[3], CultureInfo.InvariantCulture);
    var rate = double.Parse(args[4], CultureInfo.InvariantCulture);
    var concurrency = int.Parse(args[5], CultureInfo.InvariantCulture);
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:AkshareWeb"] = connection }).Build();
    // The app's registrations (ExecutionServices), with this run's source rate and a client for the fake AKTools.
    var services = new ServiceCollection()
        .AddSingleton<IConfiguration>(configuration)
        .AddLogging()
        .AddSingleton<Database>()
        .AddSingleton<WarehouseDatabase>()
        .AddSingleton<SystemSettings>()
        .AddMarketTime(configuration)
        .AddExecutionRunners(configuration)
        // The site families come from the catalogue (empty here: every function counts as its name tells).
        .AddSingleton<AkshareWeb.Features.Interfaces.InterfaceCatalog>()
        .Configure<SiteRateOptions>(o => o.Families = new() { ["eastmoney"] = rate })
        .Configure<AkToolsOptions>(o => (o.BaseUrl, o.TimeoutSeconds) = (akTools, 300));
    services.AddHttpClient<AkToolsClient>(http => http.Timeout = TimeSpan.FromMinutes(5));
    await using var provider = services.BuildServiceProvider();
    var runner = provider.GetRequiredService<ExecutionRunner>();
    var plan = new ExecutionPlan(Function, new Dictionary<string, string> { ["period"] = "daily", ["start_date"] = "20230101", ["end_date"] = "20231231" },
        "ak_bench_bars_em", WriteModes.Upsert, ["股票代码", "日期"], new Dictionary<string, string>(), "manual",
        Sources: new Dictionary<string, ValueSource> { ["symbol"] = new(Values: Enumerable.Range(0, symbols).Select(i => (600000 + i).ToString("D6", CultureInfo.InvariantCulture)).ToList()) },
        Concurrency: concurrency);
    var id = (await provider.GetRequiredService<ExecutionStore>().CreateAsync(plan, CancellationToken.None))!;
    var watch = Stopwatch.StartNew();
    var outcome = await runner.RunNowAsync(id, CancellationToken.None);
    var seconds = watch.Elapsed.TotalSeconds;
    await using var db = new MySqlConnection(connection);
    var rows = await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_bench_bars_em");
    var hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM", StringComparison.Ordinal)).Split(':')[1].Trim();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{outcome!.Status} {seconds:0.0} {rows} {hwm.Replace(" ", "", StringComparison.Ordinal)}"));
    if (outcome.Error is not null) Console.Error.WriteLine(outcome.Error);
    return 0;
}

var server = args.Length > 0 ? args[0] : throw new ArgumentException("usage: <server connection string> [symbols] [rate] [concurrency]");
var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000;
var limited = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 20;
var parallel = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 8;

// The fake AKTools: 50 ms, then the symbol's year of bars (each row as AKTools writes stock_zh_a_hist), from a
// template built once, so the fake spends little CPU while the engine is timed.
var days = new List<DateOnly>();
for (var day = new DateOnly(2023, 1, 3); days.Count < 245; day = day.AddDays(1))
{
    if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)) days.Add(day);
}

var template = new StringBuilder("[");
for (var i = 0; i < days.Count; i++)
{
    if (i > 0) template.Append(',');
    var close = 10 + (i % 50 * 0.1);
    template.Append(CultureInfo.InvariantCulture,
        $"{{\"日期\":\"{days[i]:yyyy-MM-dd}T00:00:00.000\",\"股票代码\":\"@@@@@@\",\"开盘\":{close - 0.1:0.00},\"收盘\":{close:0.00},\"最高\":{close + 0.2:0.00},\"最低\":{close - 0.3:0.00},\"成交量\":{100000 + i},\"成交额\":{(100000 + i) * close * 100:0.0},\"振幅\":2.5,\"涨跌幅\":-0.4,\"涨跌额\":-0.05,\"换手率\":0.8}}");
}

template.Append(']');
var answer = template.ToString();
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.ClearProviders();
var fake = builder.Build();
var calls = 0;
fake.MapGet("/api/public/{function}", async (HttpContext context) =>
{
    Interlocked.Increment(ref calls);
    await Task.Delay(50, context.RequestAborted);
    context.Response.ContentType = "application/json";
    await context.Response.WriteAsync(answer.Replace("@@@@@@", context.Request.Query["symbol"].ToString(), StringComparison.Ordinal), context.RequestAborted);
});
await fake.StartAsync();
var baseUrl = fake.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

Console.WriteLine($"AkshareWeb fan-out benchmark: daily bars of one year (245 rows) per symbol, fake AKTools answering after 50 ms, {parallel} parts at once, {Environment.ProcessorCount} cores");
Console.WriteLine("| symbols | rate limit | status | wall time | rows | rows/s | calls/s | peak memory (VmHWM) |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
var runs = new List<(int Symbols, double Rate)> { (count / 10, 0), (count / 2, 0), (count, 0), (count, limited) };
foreach (var (symbols, rate) in runs)
{
    var name = "fanoutbench_" + Guid.NewGuid().ToString("N")[..8];
    await using (var admin = new MySqlConnection(server))
    {
        await admin.ExecuteAsync($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
    }

    var appDb = new MySqlConnectionStringBuilder(server) { Database = name, AllowLoadLocalInfile = true }.ConnectionString;
    try
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:AkshareWeb"] = appDb }).Build();
        await new SchemaMigrator(new Database(config), TimeProvider.System, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
        await using (var db = new MySqlConnection(appDb))
        {
            // The run's concurrency is capped by max_concurrent_tasks.
            await db.ExecuteAsync("INSERT INTO app_settings (name, value, updated_at) VALUES ('max_concurrent_tasks', @value, UTC_TIMESTAMP(6))",
                new { value = parallel.ToString(CultureInfo.InvariantCulture) });
        }

        var before = calls;
        var viaDotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet";
        var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!,
            (viaDotnet ? $"\"{typeof(Program).Assembly.Location}\" " : "") + string.Create(CultureInfo.InvariantCulture, $"--run \"{appDb}\" {baseUrl} {symbols} {rate} {parallel}"))
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var output = (await child.StandardOutput.ReadToEndAsync()).Trim().Split(' ');
        await child.WaitForExitAsync();
        var (status, seconds, rows, peak) = (output[0], double.Parse(output[1], CultureInfo.InvariantCulture), long.Parse(output[2], CultureInfo.InvariantCulture), output[3]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {symbols:N0} | {(rate <= 0 ? "unlimited" : $"{rate} calls/s")} | {status} | {seconds:0.0} s | {rows:N0} | {rows / seconds:N0} | {(calls - before) / seconds:0.0} | {peak} |"));
    }
    finally
    {
        await using var admin = new MySqlConnection(server);
        await admin.ExecuteAsync($"DROP DATABASE IF EXISTS `{name}`");
    }
}

await fake.StopAsync();
return 0;
