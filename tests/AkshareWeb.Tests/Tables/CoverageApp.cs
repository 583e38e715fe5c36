using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Calendar;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// The calendar app on a clock of its own (<see cref="FakeTimeProvider"/>, market time Asia/Shanghai), with a bars
/// script keyed like the library's (股票代码, 日期, period) whose fake upstream serves, for each symbol and period, the
/// days a test gave it that fall within the asked start_date..end_date. Calls are not rate-limited: the clock does not
/// move by itself.
/// </summary>
public class CoverageApp : CalendarApp
{
    public const string Table = "ak_cov_bars";

    private readonly ConcurrentDictionary<(string Symbol, string Period), DateOnly[]> held = new();

    protected CoverageApp(DateTimeOffset now)
    {
        Clock = new FakeTimeProvider(now);
        Set("SourceRates:Default", "0");
        Set("SourceRates:Families:sina", "0");
        Set("SourceRates:Families:eastmoney", "0");
        WriteScript("stocks/daily/cov_bars.json", """
            {"id": "cov_bars", "name": "覆盖率测试K线", "category": "stocks", "frequency": "daily", "interface": "cov_bars",
             "parameters": [{"name": "symbol", "type": "string", "required": true, "column": "股票代码"},
                            {"name": "period", "type": "string", "default": "daily", "allowed": ["daily", "weekly", "monthly"]},
                            {"name": "start_date", "type": "date", "format": "yyyyMMdd", "default": "today-30d", "role": "range"},
                            {"name": "end_date", "type": "date", "format": "yyyyMMdd", "default": "today", "role": "range"}],
             "target_table": "ak_cov_bars", "write_mode": "upsert", "key_columns": ["股票代码", "日期", "period"], "extra_columns": {"period": "{period}"}}
            """);
    }

    public CoverageApp() : this(new DateTimeOffset(2024, 6, 14, 8, 0, 0, TimeSpan.Zero))
    {
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AkTools.Rows("cov_bars", query =>
        {
            var from = DateOnly.ParseExact(query["start_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
            var to = DateOnly.ParseExact(query["end_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
            var symbol = query["symbol"].ToString();
            var days = held.GetValueOrDefault((symbol, query["period"].ToString()), []);
            return days.Where(d => d >= from && d <= to).Select((d, i) => TestScripts.Bar(symbol, d, 10 + i));
        });
    }

    /// <summary>Has the upstream hold <paramref name="days"/> for the symbol and period from now on, without collecting them.</summary>
    public void Serve(string symbol, IEnumerable<DateOnly> days, string period = "daily") => held[(symbol, period)] = days.Order().ToArray();

    /// <summary>The days the upstream holds for the symbol and period.</summary>
    public IReadOnlyList<DateOnly> Served(string symbol, string period = "daily") => held.GetValueOrDefault((symbol, period), []);

    /// <summary>Has the upstream hold <paramref name="days"/> for the symbol and period, and collects them all by one download.</summary>
    public async Task CollectAsync(HttpClient client, string symbol, IEnumerable<DateOnly> days, string period = "daily")
    {
        var list = days.Order().ToArray();
        held[(symbol, period)] = list;
        var run = await DownloadAsync("cov_bars", new
        {
            symbol,
            period,
            start_date = list[0].ToString("yyyyMMdd", CultureInfo.InvariantCulture),
            end_date = list[^1].ToString("yyyyMMdd", CultureInfo.InvariantCulture),
        }, client: client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());
    }

    /// <summary>The trading days of 2024 from <paramref name="from"/> to <paramref name="to"/>, as the exchanges kept them
    /// (weekdays but Labour Day's 05-01..05-03 and the Dragon Boat Festival's 06-10), less <paramref name="except"/>.</summary>
    public static IEnumerable<DateOnly> Trading(string from, string to, params string[] except)
    {
        var closed = new HashSet<DateOnly>(new[] { "2024-05-01", "2024-05-02", "2024-05-03", "2024-06-10" }.Concat(except).Select(D));
        for (var day = D(from); day <= D(to); day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !closed.Contains(day)) yield return day;
        }
    }

    public static DateOnly D(string day) => DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static async Task<JsonNode> CoverageAsync(HttpClient client, string query, string table = Table) =>
        (await (await client.GetAsync($"/api/tables/{table}/coverage{query}")).ExpectAsync(200, 0))["data"]!;

    public static JsonNode KeyOf(JsonNode coverage, string symbol, string period = "daily") =>
        coverage["items"]!.AsArray().Single(i => i!["key"]!["股票代码"]!.GetValue<string>() == symbol && i["key"]!["period"]!.GetValue<string>() == period)!;

    public static List<string> Days(JsonNode? list) => list!.AsArray().Select(d => d!.GetValue<string>()).ToList();

    public static List<string> Ranges(JsonNode? ranges) =>
        ranges!.AsArray().Select(r => r![0]!.GetValue<string>() + ".." + r[1]!.GetValue<string>()).ToList();
}
