using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>
/// AKTools 0.0.91 on loopback, answering as its code does (aktools/core/api.py, route /api/public/{item_id}, on
/// Starlette): the query is parsed, re-encoded and URL-decoded once, then turned into a Python expression by
/// replacing every <c>&amp;</c> with <c>", </c>, every <c>=</c> with <c>="</c>, appending <c>"</c> and turning every
/// <c>+</c> into a space (or, when the text <c>cookie</c> is anywhere in it, quoting everything after the first
/// <c>=</c> as one single-quoted argument). The fake rebuilds that expression and reads it back as Python would;
/// when a value left its string literal or the arguments read back differ from the ones sent, that is recorded in
/// <see cref="Violations"/> (which fails the test class) and answered as AKTools answers a SyntaxError: HTTP 500.
/// A function is known once a test programmed it; the others get AKTools' 404 for a function AKShare lacks. The
/// programmed outcomes are AKTools' own: rows (pandas records: datetimes as 2024-01-02T00:00:00.000, NaN as null,
/// floats rounded to 10 decimals and written as Python writes them), None (404 该接口返回数据为空), KeyError (404
/// 请输入正确的参数错误), any other exception (plain-text 500). Handlers read the arguments as AKShare receives
/// them (all strings) from <c>context.Request.Query</c>.
/// </summary>
public sealed class FakeAkTools : IAsyncDisposable
{
    public const string UnknownFunction = "未找到该接口，请升级 AKShare 到最新版本并在文档中确认该接口的使用方式：https://akshare.akfamily.xyz";
    public const string NoDataAnswer = "该接口返回数据为空，请确认参数是否正确：https://akshare.akfamily.xyz";

    private readonly ConcurrentDictionary<string, Func<HttpContext, Task>> handlers = new(StringComparer.Ordinal);
    private WebApplication? app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>Every call received: function and raw query string.</summary>
    public ConcurrentQueue<(string Function, string Query)> Calls { get; } = new();

    /// <summary>Every call received, as the Python expression AKTools would have evaluated.</summary>
    public ConcurrentQueue<string> Expressions { get; } = new();

    /// <summary>Calls whose expression would not have called the function with the arguments sent: each one a bug.</summary>
    public ConcurrentQueue<string> Violations { get; } = new();

    public static async Task<FakeAkTools> StartAsync()
    {
        var fake = new FakeAkTools();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/api/public/{function}", fake.AnswerAsync);
        await app.StartAsync();
        fake.app = app;
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    private Task AnswerAsync(string function, HttpContext context)
    {
        var raw = context.Request.QueryString.Value is { Length: > 0 } q ? q[1..] : "";
        Calls.Enqueue((function, raw));
        if (!handlers.TryGetValue(function, out var handler))
        {
            return WriteAsync(context, 404, PythonJson.Write(new Dictionary<string, object?> { ["error"] = UnknownFunction }));
        }

        var sent = Starlette.ParseQuery(raw);
        if (sent.Count > 0)
        {
            var expression = $"ak.{function}({AkToolsExpression(sent)})";
            Expressions.Enqueue(expression);
            var received = PythonCall.ReadKeywordStrings(expression, function);
            if (received is null || !received.SequenceEqual(sent))
            {
                Violations.Enqueue($"{expression}  <- sent {string.Join(", ", sent.Select(a => $"{a.Key}={a.Value}"))}");
                return Raises(context);
            }

            context.Request.Query = new QueryCollection(received.ToDictionary(a => a.Key, a => new StringValues(a.Value)));
        }
        else
        {
            Expressions.Enqueue($"ak.{function}()");
            context.Request.Query = QueryCollection.Empty;
        }

        return handler(context);
    }

    /// <summary>What AKTools puts between the parentheses, from the parsed query (api.py, lines 120-140).</summary>
    private static string AkToolsExpression(List<KeyValuePair<string, string>> sent)
    {
        var decoded = Uri.UnescapeDataString(Starlette.Encode(sent));
        if (decoded.Contains("cookie", StringComparison.Ordinal))
        {
            var cut = decoded.IndexOf('=', StringComparison.Ordinal);
            return (decoded[..cut] + "='" + decoded[(cut + 1)..] + "'").Replace('+', ' ');
        }

        return (decoded.Replace("&", "\", ", StringComparison.Ordinal).Replace("=", "=\"", StringComparison.Ordinal) + "\"").Replace('+', ' ');
    }

    public void Rows(string function, params object[] rows) => handlers[function] = context => WriteRowsAsync(context, rows);

    /// <summary>Rows that depend on the arguments AKShare receives (a symbol, a date window).</summary>
    public void Rows(string function, Func<IQueryCollection, IEnumerable<object>> rows) =>
        handlers[function] = context => WriteRowsAsync(context, rows(context.Request.Query));

    /// <summary>The function returned None: AKTools' 404 with 该接口返回数据为空.</summary>
    public void NoData(string function) =>
        handlers[function] = context => WriteAsync(context, 404, PythonJson.Write(new Dictionary<string, object?> { ["error"] = NoDataAnswer }));

    /// <summary>The function raised KeyError(<paramref name="key"/>): AKTools' 404 with 请输入正确的参数错误 'key'.</summary>
    public void KeyError(string function, string key) =>
        handlers[function] = context => WriteAsync(context, 404, PythonJson.Write(new Dictionary<string, object?>
        {
            ["error"] = $"请输入正确的参数错误 '{key}'，请升级 AKShare 到最新版本并在文档中确认该接口的使用方式：https://akshare.akfamily.xyz",
        }));

    /// <summary>The function raised anything else (the upstream site refused, timed out, changed): Starlette's plain 500.</summary>
    public void Fails(string function) => handlers[function] = Raises;

    /// <summary>Fails <paramref name="times"/> calls with AKTools' 500, then answers the rows.</summary>
    public void FailsThenRows(string function, int times, params object[] rows)
    {
        var left = times;
        handlers[function] = context => Interlocked.Decrement(ref left) >= 0 ? Raises(context) : WriteRowsAsync(context, rows);
    }

    /// <summary>
    /// A body AKTools itself never sends, for what can stand between it and the service: a proxy's 502 page, a
    /// body cut off, a server that is not AKTools.
    /// </summary>
    public void Raw(string function, string body, int status = 200, string contentType = "application/json") =>
        handlers[function] = context => WriteAsync(context, status, body, contentType);

    public void Delay(string function, TimeSpan delay, params object[] rows) =>
        handlers[function] = async context =>
        {
            await Task.Delay(delay, context.RequestAborted);
            await WriteRowsAsync(context, rows);
        };

    /// <summary>
    /// <paramref name="count"/> rows made by <paramref name="row"/> (each already one JSON object as AKTools writes it),
    /// streamed as they are made (never held whole), with an optional pause after every <paramref name="pauseEvery"/>
    /// rows so a test can act mid-answer.
    /// </summary>
    public void Generate(string function, long count, Func<long, string> row, int pauseEvery = 0, TimeSpan pause = default, bool withLength = false)
    {
        handlers[function] = async context =>
        {
            context.Response.ContentType = "application/json";
            if (withLength)
            {
                long length = 2 + Math.Max(0, count - 1);
                for (long i = 0; i < count; i++) length += Encoding.UTF8.GetByteCount(row(i));
                context.Response.ContentLength = length;
            }

            var body = context.Response.Body;
            var buffer = new StringBuilder(64 * 1024);
            buffer.Append('[');
            for (long i = 0; i < count; i++)
            {
                if (i > 0) buffer.Append(',');
                buffer.Append(row(i));
                if (buffer.Length > 60_000)
                {
                    await body.WriteAsync(Encoding.UTF8.GetBytes(buffer.ToString()), context.RequestAborted);
                    buffer.Clear();
                }

                if (pauseEvery > 0 && (i + 1) % pauseEvery == 0)
                {
                    await body.WriteAsync(Encoding.UTF8.GetBytes(buffer.ToString()), context.RequestAborted);
                    await body.FlushAsync(context.RequestAborted);
                    buffer.Clear();
                    await Task.Delay(pause, context.RequestAborted);
                }
            }

            buffer.Append(']');
            await body.WriteAsync(Encoding.UTF8.GetBytes(buffer.ToString()), context.RequestAborted);
        };
    }

    public void Handle(string function, Func<HttpContext, Task> handler) => handlers[function] = handler;

    /// <summary>
    /// Rows that depend on the arguments and may take their time (a gate the test opens); null is an exception AKShare
    /// raised (AKTools' plain 500), as an upstream site's failure reaches the service.
    /// </summary>
    public void RowsAsync(string function, Func<IQueryCollection, Task<IEnumerable<object>?>> rows) =>
        handlers[function] = async context =>
        {
            var answer = await rows(context.Request.Query);
            await (answer is null ? Raises(context) : WriteRowsAsync(context, answer));
        };

    /// <summary>Fails the calling test when a value sent to this AKTools would not have reached AKShare as it was.</summary>
    public void AssertNoViolations()
    {
        if (!Violations.IsEmpty)
        {
            throw new Xunit.Sdk.XunitException("values left their string literal in AKTools' expression:\n" + string.Join("\n", Violations));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static Task WriteRowsAsync(HttpContext context, IEnumerable<object> rows) => WriteAsync(context, 200, PythonJson.Write(rows.ToList()));

    private static Task Raises(HttpContext context) => WriteAsync(context, 500, "Internal Server Error", "text/plain; charset=utf-8");

    /// <summary>What AKTools answers when AKShare's call raised (an upstream ban among the causes), for handlers of a test's own.</summary>
    public static Task UpstreamFailedAsync(HttpContext context) => Raises(context);

    /// <summary>Rows as AKTools writes them, for handlers of a test's own.</summary>
    public static Task RowsAsync(HttpContext context, IEnumerable<object> rows) => WriteRowsAsync(context, rows);

    private static async Task WriteAsync(HttpContext context, int status, string body, string contentType = "application/json")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}

/// <summary>
/// The app with a fake AKTools, a data-scripts folder and a registry of the test's own, and fast scheduling
/// (interval ticks every second, short retries, quick detection of dead runs).
/// </summary>
public class CollectingApp : AkshareWebApp
{
    public FakeAkTools AkTools { get; private set; } = null!;

    public string ScriptsFolder { get; } = Path.Combine(Path.GetTempPath(), "aw-scripts-" + Guid.NewGuid().ToString("N"));

    public string RegistryFile => Path.Combine(ScriptsFolder, "..", Path.GetFileName(ScriptsFolder) + "-interfaces.json");

    public CollectingApp()
    {
        Set("DataScripts:Path", ScriptsFolder);
        Set("Catalog:RegistryPath", RegistryFile);
        Set("AkTools:MaxRetries", "2");
        Set("AkTools:RetryBaseDelaySeconds", "0.05");
        Set("AkTools:TimeoutSeconds", "10");
        // Pauses of a site family after failures in a row are the subject of their own tests (Parts/SiteBanTests);
        // elsewhere a test's failing symbols must fail after their tries, as they would without a ban.
        Set("Bans:FailuresInARow", "0");
        Set("Scheduler:MinIntervalSeconds", "2");
        Set("Scheduler:IntervalTickCron", "* * * * * *");
        Set("Scheduler:RetryBaseDelaySeconds", "0.5");
        Set("Scheduler:StaleExecutionSeconds", "4");
        Set("Scheduler:WatchdogIntervalSeconds", "1");
        Set("Hangfire:QueuePollIntervalSeconds", "0.2");
        Set("Hangfire:ShutdownTimeoutSeconds", "2");
        Set("Hangfire:WorkerCount", "12");
        Directory.CreateDirectory(ScriptsFolder);
        foreach (var (path, json) in TestScripts.All) WriteScript(path, json);
        File.WriteAllText(RegistryFile, TestScripts.Registry);
    }

    public override async Task InitializeAsync()
    {
        AkTools = await FakeAkTools.StartAsync();
        Set("AkTools:BaseUrl", AkTools.BaseUrl);
        await base.InitializeAsync();
    }

    public void WriteScript(string relativePath, string json)
    {
        var path = Path.Combine(ScriptsFolder, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
    }

    /// <summary>
    /// A daily-bars data script of its own (interface <paramref name="id"/>, table ak_<paramref name="id"/>, upsert
    /// on 股票代码 and 日期), registered by a scan: a table no other test writes.
    /// </summary>
    public async Task AddBarsScriptAsync(string id, string name)
    {
        WriteScript($"stocks/daily/{id}.json", $$"""
            {"id": "{{id}}", "name": "{{name}}", "category": "stocks", "frequency": "daily", "interface": "{{id}}",
             "parameters": [{"name": "symbol", "type": "string", "required": true}], "target_table": "ak_{{id}}", "write_mode": "upsert",
             "key_columns": ["股票代码", "日期"]}
            """);
        var admin = await AdminAsync();
        await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (AkTools is not null) await AkTools.DisposeAsync();
        try { Directory.Delete(ScriptsFolder, recursive: true); File.Delete(RegistryFile); } catch (IOException) { }
        GC.SuppressFinalize(this);
        // A value that reached AKTools changed is a bug even where the test itself passed: the class fails.
        AkTools?.AssertNoViolations();
    }

    /// <summary>
    /// A manual download of an interface (by name) as a user — a new one unless <paramref name="client"/> is
    /// given — polled until it has ended; returns the execution's final view.
    /// </summary>
    public async Task<System.Text.Json.Nodes.JsonNode> DownloadAsync(string function, object? parameters = null, int seconds = 30, HttpClient? client = null)
    {
        client ??= (await NewUserAsync()).Client;
        long id;
        await using (var db = await OpenDatabaseAsync())
        {
            id = await Dapper.SqlMapper.ExecuteScalarAsync<long>(db, "SELECT id FROM interfaces WHERE name = @function", new { function });
        }

        var started = (await (await System.Net.Http.Json.HttpClientJsonExtensions.PostAsJsonAsync(client, "/api/data/download",
            new { interface_id = id, parameters = parameters ?? new { } })).ExpectAsync(200, 0))["data"]!;
        return await WaitForEndAsync(client, started["execution_id"]!.GetValue<string>(), seconds);
    }

    /// <summary>Polls an execution until it has ended (or the deadline), returning its final view.</summary>
    public async Task<System.Text.Json.Nodes.JsonNode> WaitForEndAsync(HttpClient client, string executionId, int seconds = 30)
    {
        var deadline = Deadline.In(seconds);
        while (true)
        {
            var body = await (await client.GetAsync($"/api/executions/{executionId}")).ExpectAsync(200, 0);
            var status = body["data"]!["status"]!.GetValue<string>();
            if (status is "completed" or "failed" or "cancelled" or "timeout" || deadline.Passed)
            {
                AkTools.AssertNoViolations();
                return body["data"]!;
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>The data scripts the collection tests run, in the library's format.</summary>
public static class TestScripts
{
    public const string DailyBars = """
        {
          "id": "stock_zh_a_hist", "name": "A股历史行情", "description": "东方财富 A 股日线", "category": "stocks", "frequency": "daily",
          "interface": "stock_zh_a_hist",
          "parameters": [
            {"name": "symbol", "type": "string", "required": true, "description": "股票代码"},
            {"name": "period", "type": "string", "default": "daily", "allowed": ["daily", "weekly", "monthly"]},
            {"name": "start_date", "type": "date", "format": "yyyyMMdd", "default": "today-30d"},
            {"name": "end_date", "type": "date", "format": "yyyyMMdd", "default": "today"},
            {"name": "adjust", "type": "string", "default": "", "allowed": ["", "qfq", "hfq"]}
          ],
          "target_table": "ak_stock_zh_a_hist", "write_mode": "upsert", "key_columns": ["股票代码", "日期"],
          "extra_columns": {"adjust": "{adjust}"}
        }
        """;

    public const string Snapshot = """
        {
          "id": "macro_china_cpi", "name": "中国 CPI", "category": "macro", "frequency": "monthly", "interface": "macro_china_cpi",
          "parameters": [], "target_table": "ak_macro_china_cpi", "write_mode": "replace", "key_columns": []
        }
        """;

    public const string Appended = """
        {
          "id": "stock_news_em", "name": "个股新闻", "category": "stocks", "frequency": "intraday", "interface": "stock_news_em",
          "parameters": [{"name": "symbol", "type": "string", "required": true}],
          "target_table": "ak_stock_news_em", "write_mode": "append", "key_columns": [], "extra_columns": {"symbol": "{symbol}", "collected_on": "{today}"}
        }
        """;

    /// <summary>A small registry in the format of akshare/data/interfaces.json.</summary>
    public const string Registry = """
        {"interfaces": [
          {"category": "stock", "desc": "东方财富网-沪深京 A 股-实时行情数据", "documented": true, "example": "import akshare as ak\n\nstock_zh_a_spot_em_df = ak.stock_zh_a_spot_em()",
           "limit_desc": "单次返回所有沪深京 A 股上市公司的实时行情数据", "module": "akshare.stock_feature.stock_hist_em", "name": "stock_zh_a_spot_em",
           "outputs": [{"desc": "-", "name": "代码", "type": "object"}, {"desc": "注意单位: 元", "name": "最新价", "type": "float64"}],
           "params": [{"desc": "-", "name": "-", "type": "-"}], "url": "https://quote.eastmoney.com/center/gridlist.html#hs_a_board"},
          {"category": "stock", "desc": "东方财富-沪深京 A 股日频率数据; 历史数据按日频率更新", "documented": true, "example": "",
           "limit_desc": "单次返回指定沪深京 A 股上市公司、指定周期和指定日期间的历史行情日频率数据", "module": "akshare.stock_feature.stock_hist_em", "name": "stock_zh_a_hist",
           "outputs": [{"desc": "交易日", "name": "日期", "type": "object"}],
           "params": [{"desc": "symbol='603777'; 股票代码可以在 ak.stock_zh_a_spot_em() 中获取", "name": "symbol", "type": "str"},
                      {"desc": "period='daily'; choice of {'daily', 'weekly', 'monthly'}", "name": "period", "type": "str"},
                      {"desc": "start_date='20210301'", "name": "start_date", "type": "str"}, {"desc": "end_date='20210616'", "name": "end_date", "type": "str"},
                      {"desc": "不复权", "name": "adjust", "type": "str"}], "url": "https://quote.eastmoney.com/concept/sh603777.html?from=classic"},
          {"category": "others", "desc": "测试用的接口：列名与取值都不友好", "documented": false, "example": "", "limit_desc": "", "module": "akshare.test",
           "name": "hostile_fn", "outputs": [], "params": [{"desc": "level=\"1\"; 级别", "name": "level", "type": "int"}], "url": ""},
          {"category": "macro", "desc": "中国宏观杠杆率数据", "documented": true, "example": "", "limit_desc": "", "module": "akshare.economic.marco_cnbs",
           "name": "macro_cnbs", "outputs": [], "params": [{"desc": "-", "name": "-", "type": "-"}], "url": "http://114.115.232.154:8080/"}
        ]}
        """;

    public static readonly (string Path, string Json)[] All =
    [
        ("stocks/daily/stock_zh_a_hist.json", DailyBars),
        ("macro/monthly/macro_china_cpi.json", Snapshot),
        ("stocks/intraday/stock_news_em.json", Appended),
    ];

    /// <summary>A daily bar as AKTools serialises stock_zh_a_hist.</summary>
    public static object Bar(string symbol, DateOnly day, double close, long volume = 100_000) => new Dictionary<string, object?>
    {
        ["日期"] = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + "T00:00:00.000",
        ["股票代码"] = symbol,
        ["开盘"] = close - 0.1,
        ["收盘"] = close,
        ["最高"] = close + 0.2,
        ["最低"] = close - 0.3,
        ["成交量"] = volume,
        ["成交额"] = volume * close * 100,
        ["振幅"] = 2.5,
        ["涨跌幅"] = -0.4,
        ["涨跌额"] = -0.05,
        ["换手率"] = null,
    };
}
