using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AkshareWeb.Galera;

/// <summary>
/// AKTools on loopback as the drill needs it: <c>GET /api/public/{function}</c> answers 200 with a JSON array of
/// records, as AKTools does (pandas' records with ISO dates, a Content-Length), for the three functions the drill
/// calls, with rows that follow from the arguments. Every row served is remembered by its key with its volume, so
/// what the tables hold is counted against what was served, however often a call was repeated.
/// </summary>
public sealed class FakeAkTools : IAsyncDisposable
{
    public const int MinuteBars = 300_000;
    public const int DailyBars = 250;
    public const int RatesRows = 60;

    private WebApplication? app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>Served keys of the minute bars (the download) and their 成交量.</summary>
    public ConcurrentDictionary<string, long> MinuteServed { get; } = new(StringComparer.Ordinal);

    /// <summary>Served keys (symbol and date) of the daily bars (the parted run) and their 成交量.</summary>
    public ConcurrentDictionary<string, long> DailyServed { get; } = new(StringComparer.Ordinal);

    public int RatesCalls => ratesCalls;

    private int ratesCalls;

    /// <summary>How long the minute-bar answer takes to stream (so a node can be killed in the middle of it).</summary>
    public TimeSpan MinuteStreaming { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a daily-bar answer waits before it starts (so a parted run lasts long enough to be cut).</summary>
    public TimeSpan DailyDelay { get; set; } = TimeSpan.FromMilliseconds(800);

    public static async Task<FakeAkTools> StartAsync()
    {
        var fake = new FakeAkTools();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        fake.app = builder.Build();
        fake.app.MapGet("/api/public/{function}", fake.AnswerAsync);
        await fake.app.StartAsync();
        fake.BaseUrl = fake.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    private Task AnswerAsync(string function, HttpContext context)
    {
        var query = context.Request.Query;
        return function switch
        {
            "stock_zh_a_hist_min_em" => MinuteBarsAsync(context, query["symbol"].ToString(), query["period"].ToString()),
            "stock_zh_a_hist" => DailyBarsAsync(context, query["symbol"].ToString()),
            "macro_china_lpr" => RatesAsync(context),
            _ => WriteAsync(context, 404, """{"error":"未找到该接口，请升级 AKShare 到最新版本并在文档中确认该接口的使用方式：https://akshare.akfamily.xyz"}"""),
        };
    }

    private static readonly DateTime[] MinuteDays = Weekdays(new DateTime(2019, 1, 2), (MinuteBars / 240) + 1);
    private static readonly DateTime[] DailyDays = Weekdays(new DateTime(2023, 1, 2), DailyBars);

    /// <summary>1,250 weekdays from 2019-01-02 of 240 one-minute bars (09:31-11:30, 13:01-15:00).</summary>
    public static DateTime MinuteAt(int i)
    {
        var day = MinuteDays[i / 240];
        var minute = i % 240;
        return minute < 120 ? day.AddHours(9).AddMinutes(31 + minute) : day.AddHours(13).AddMinutes(1 + minute - 120);
    }

    public static long Volume(int i, int salt) => 1_000 + ((i * 7919L) + (salt * 104_729L)) % 50_000;

    private async Task MinuteBarsAsync(HttpContext context, string symbol, string period)
    {
        var rows = new string[MinuteBars];
        var salt = int.Parse(symbol, CultureInfo.InvariantCulture);
        for (var i = 0; i < MinuteBars; i++)
        {
            var price = 10 + (i % 1000 / 100.0);
            rows[i] = string.Create(CultureInfo.InvariantCulture,
                $$"""{"时间":"{{MinuteAt(i):yyyy-MM-dd HH:mm:ss}}","开盘":{{price}},"收盘":{{price + 0.01}},"最高":{{price + 0.02}},"最低":{{price - 0.01}},"成交量":{{Volume(i, salt)}},"成交额":{{Volume(i, salt) * price * 100}},"均价":{{price}}}""");
        }

        await StreamAsync(context, rows, MinuteStreaming, () =>
        {
            for (var i = 0; i < MinuteBars; i++) MinuteServed[$"{symbol}|{period}|{MinuteAt(i):yyyy-MM-dd HH:mm:ss}"] = Volume(i, salt);
        });
    }

    private async Task DailyBarsAsync(HttpContext context, string symbol)
    {
        await Task.Delay(DailyDelay, context.RequestAborted);
        var salt = int.Parse(symbol, CultureInfo.InvariantCulture);
        var rows = new string[DailyBars];
        for (var i = 0; i < DailyBars; i++)
        {
            var price = 5 + (salt % 97) + (i / 100.0);
            rows[i] = string.Create(CultureInfo.InvariantCulture,
                $$"""{"日期":"{{DailyDays[i]:yyyy-MM-dd}}","股票代码":"{{symbol}}","开盘":{{price}},"收盘":{{price + 0.05}},"最高":{{price + 0.1}},"最低":{{price - 0.1}},"成交量":{{Volume(i, salt)}},"成交额":{{Volume(i, salt) * price * 100}},"振幅":1.5,"涨跌幅":0.5,"涨跌额":0.05,"换手率":0.8}""");
        }

        await StreamAsync(context, rows, TimeSpan.Zero, () =>
        {
            for (var i = 0; i < DailyBars; i++) DailyServed[$"{symbol}|{DailyDays[i]:yyyy-MM-dd}"] = Volume(i, salt);
        });
    }

    private async Task RatesAsync(HttpContext context)
    {
        Interlocked.Increment(ref ratesCalls);
        var rows = Enumerable.Range(0, RatesRows).Select(i => string.Create(CultureInfo.InvariantCulture,
            $$"""{"TRADE_DATE":"{{new DateTime(2020, 1, 20).AddMonths(i):yyyy-MM-dd}}T00:00:00.000","LPR1Y":{{3.85 - (i / 100.0)}},"LPR5Y":{{4.65 - (i / 100.0)}},"RATE_1":4.35,"RATE_2":4.9}""")).ToArray();
        await StreamAsync(context, rows, TimeSpan.Zero, () => { });
    }

    /// <summary>The array with its Content-Length, as AKTools sends it; spread over <paramref name="over"/> when given.
    /// The rows count as served once the whole answer was written.</summary>
    private static async Task StreamAsync(HttpContext context, string[] rows, TimeSpan over, Action served)
    {
        var parts = new List<byte[]> { "["u8.ToArray() };
        var chunk = new StringBuilder();
        for (var i = 0; i < rows.Length; i++)
        {
            if (i > 0) chunk.Append(',');
            chunk.Append(rows[i]);
            if (chunk.Length > 256 * 1024 || i == rows.Length - 1)
            {
                parts.Add(Encoding.UTF8.GetBytes(chunk.ToString()));
                chunk.Clear();
            }
        }

        parts.Add("]"u8.ToArray());
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = parts.Sum(p => (long)p.Length);
        var pause = parts.Count > 1 ? over / parts.Count : TimeSpan.Zero;
        foreach (var part in parts)
        {
            await context.Response.Body.WriteAsync(part, context.RequestAborted);
            if (pause > TimeSpan.Zero)
            {
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(pause, context.RequestAborted);
            }
        }

        served();
    }

    private static Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static DateTime[] Weekdays(DateTime first, int count)
    {
        var days = new DateTime[count];
        var day = first;
        for (var n = 0; n < count; day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)) days[n++] = day;
        }

        return days;
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
    }
}
