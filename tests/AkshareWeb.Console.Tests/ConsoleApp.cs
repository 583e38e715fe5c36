using System.Globalization;
using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Console.Tests;

/// <summary>
/// The service with its built console on a real loopback port (Kestrel, so Chromium can open it), on a database of its
/// own, also answering under the path base <c>/akshare</c> as it does behind a prefixing proxy. The fake AKTools serves
/// stock_zh_a_hist (the test library's daily-bars script) as AKTools does: weekday bars of any symbol inside the
/// requested window (<see cref="Holey"/>'s without the 7th, 14th, 21st and 28th of each month); symbol
/// <see cref="Failing"/> always fails upstream (AKTools' 500), <see cref="Flaky"/> fails its first calls then answers,
/// and <see cref="Held"/> waits until a browser scenario calls <see cref="Release"/>, so a run can be watched while it
/// runs. The fixture starts with a table of bars, a completed and a failed run, and a task.
/// Notification channels may point at <see cref="Receiver"/> on loopback: its <see cref="DownPath"/> answers as a robot
/// that is down (500), every other path as one that took the message. A second script of stock_zh_a_hist,
/// <see cref="QfqScript"/>, writes 前复权 bars into a table of its own, <see cref="QfqTable"/>.
/// </summary>
public sealed class ConsoleApp : CollectingApp
{
    public const string PathBase = "/akshare";
    public const string Failing = "999999";
    public const string Flaky = "300750";
    public const string Held = "600000";
    public const string Release = "console_release";
    public const string SeededSymbol = "000001";
    public const string Holey = "000004";
    public const string DownPath = "/down";
    public const string QfqScript = "stock_zh_a_hist_qfq";
    public const string QfqTable = "ak_stock_zh_a_hist_qfq";

    /// <summary>The same interface as the daily bars, another table: a download of it by interface would land in ak_stock_zh_a_hist.</summary>
    private const string QfqBars = $$"""
        {
          "id": "{{QfqScript}}", "name": "A股历史行情（前复权）", "category": "stocks", "frequency": "daily", "interface": "stock_zh_a_hist",
          "parameters": [
            {"name": "symbol", "type": "string", "required": true, "description": "股票代码"},
            {"name": "start_date", "type": "date", "format": "yyyyMMdd", "default": "today-30d"},
            {"name": "end_date", "type": "date", "format": "yyyyMMdd", "default": "today"},
            {"name": "adjust", "type": "string", "default": "qfq", "allowed": ["qfq"]}
          ],
          "target_table": "{{QfqTable}}", "write_mode": "upsert", "key_columns": ["股票代码", "日期"]
        }
        """;

    private TaskCompletionSource held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int flakyCalls;

    public ConsoleApp()
    {
        UseKestrel(0);
        Set("PathBase", PathBase);
        // A failing part is given up after its retries within a second; a held call waits as long as a scenario needs.
        Set("AkTools:MaxRetries", "1");
        Set("AkTools:TimeoutSeconds", "180");
        Set("Notifications:AllowPrivateTargets", "true");
        Set("Notifications:PollSeconds", "0.2");
        WriteScript($"stocks/daily/{QfqScript}.json", QfqBars);
    }

    /// <summary>Where the notification scenario's channels send.</summary>
    public NotificationReceiver Receiver { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Receiver.InitializeAsync();
        Receiver.Answer((context, _) => context.Request.Path == DownPath
            ? NotificationReceiver.WriteAsync(context, 500, """{"errcode":500,"errmsg":"robot is down"}""")
            : NotificationReceiver.WriteAsync(context, 200, """{"errcode":0,"errmsg":"ok"}"""));
        AkTools.RowsAsync("stock_zh_a_hist", async query =>
        {
            // The held symbol's call waits inside the fake until a scenario releases it.
            if (query["symbol"] == Held) await held.Task.WaitAsync(TimeSpan.FromMinutes(2));
            return Bars(query);
        });
        AkTools.Rows(Release, _ =>
        {
            Interlocked.Exchange(ref held, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            return [];
        });
        BaseAddress = Loopback.Start(this);
        await SeedAsync();
    }

    /// <summary>AKTools' address, for a scenario that releases the held call.</summary>
    public string AkToolsUrl => AkTools.BaseUrl;

    private List<object>? Bars(IQueryCollection query)
    {
        var symbol = query["symbol"].ToString();
        if (symbol == Failing || (symbol == Flaky && Interlocked.Increment(ref flakyCalls) <= 2)) return null;

        var from = DateOnly.ParseExact(query["start_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
        var to = DateOnly.ParseExact(query["end_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
        var close = 10.0 + (symbol.GetHashCode(StringComparison.Ordinal) & 0xff) / 32.0;
        var bars = new List<object>();
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday || (symbol == Holey && day.Day % 7 == 0)) continue;
            // A deterministic walk: the same symbol and day always give the same bar.
            close = Math.Round(Math.Max(1, close + Math.Sin(day.DayNumber * 0.7) * 0.3), 2);
            bars.Add(TestScripts.Bar(symbol, day, close, 100_000 + day.DayNumber % 5_000));
        }

        return bars;
    }

    /// <summary>The state a quant opens the console on: a table of bars (one key of it with a hole a week), a completed
    /// and a failed run, a scheduled task.</summary>
    private async Task SeedAsync()
    {
        var admin = await AdminAsync();
        var interfaces = await (await admin.GetAsync("/api/interfaces?keyword=stock_zh_a_hist")).ExpectAsync(200, 0);
        var id = interfaces["data"]!["items"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == "stock_zh_a_hist")!["id"]!.GetValue<long>();
        foreach (var symbol in new[] { SeededSymbol, Holey, Failing })
        {
            var started = await (await admin.PostAsJsonAsync("/api/data/download", new
            {
                interface_id = id,
                parameters = new { symbol, start_date = "20240101", end_date = "20241231" },
            })).ExpectAsync(200, 0);
            await WaitEndedAsync(admin, started["data"]!["execution_id"]!.GetValue<string>());
        }

        await (await admin.PostAsJsonAsync("/api/tasks", new
        {
            name = "平安银行日线", script_id = "stock_zh_a_hist", schedule_type = "cron", schedule_expression = "30 17 * * 1-5",
            parameters = new { symbol = SeededSymbol },
        })).ExpectAsync(201, 0);
    }

    private static async Task WaitEndedAsync(HttpClient client, string executionId)
    {
        for (var i = 0; i < 600; i++)
        {
            var status = (await (await client.GetAsync($"/api/executions/{executionId}")).ExpectAsync(200, 0))["data"]!["status"]!.GetValue<string>();
            if (status is not ("pending" or "running")) return;
            await Task.Delay(100);
        }

        throw new TimeoutException($"execution {executionId} did not end");
    }

    public override async ValueTask DisposeAsync()
    {
        held.TrySetResult();
        await Receiver.DisposeAsync();
        await base.DisposeAsync();
    }
}
