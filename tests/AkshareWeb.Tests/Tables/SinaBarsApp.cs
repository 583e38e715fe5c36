using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// The app with the library's three Sina scripts (stock_zh_a_daily_unadjusted and its qfq and hfq factor tables) and
/// a fake <c>stock_zh_a_daily</c> answering as AKShare's code does (stock/stock_zh_a_sina.py) through AKTools:
/// with adjust "" (or none) the unadjusted bars within start_date..end_date (date as pandas writes a datetime.date,
/// the four prices rounded to 2 decimals, the rest floats); with "qfq-factor" / "hfq-factor" the whole factor step
/// table whatever the dates, newest first, the date as a datetime64 and the factor as the string Sina gives
/// ("1.2500000000000000"). A test sets the bars and factors a symbol has, and may add a dividend later.
/// </summary>
public class SinaBarsApp : CollectingApp
{
    public const string Bars = "ak_stock_zh_a_daily_unadjusted";

    private readonly ConcurrentDictionary<string, Bar[]> bars = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Symbol, string Method), (DateOnly Day, double Factor)[]> factors = new();

    public SinaBarsApp()
    {
        Set("SourceRates:Default", "0");
        Set("SourceRates:Families:sina", "0");
        foreach (var id in new[] { "stock_zh_a_daily_unadjusted", "stock_zh_a_daily_qfq_factor", "stock_zh_a_daily_hfq_factor" })
        {
            WriteScript($"stocks/daily/{id}.json", File.ReadAllText(Path.Combine(Host.OpenApiDocumentTests.RepositoryRoot(), "data-scripts", "stocks", "daily", id + ".json")));
        }
    }

    public sealed record Bar(DateOnly Day, double Open, double High, double Low, double Close);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AkTools.Rows("stock_zh_a_daily", query =>
        {
            var symbol = query["symbol"].ToString();
            var adjust = query.TryGetValue("adjust", out var a) ? a.ToString() : "";
            if (adjust is "qfq-factor" or "hfq-factor")
            {
                var method = adjust[..3];
                var column = method + "_factor";
                return factors.GetValueOrDefault((symbol, method), []).OrderByDescending(f => f.Day).Select(f => (object)new Dictionary<string, object?>
                {
                    ["date"] = f.Day,
                    [column] = f.Factor.ToString("F16", CultureInfo.InvariantCulture),
                });
            }

            // AKShare's own defaults when a date is not sent; it always filters the whole history locally.
            var from = DateOnly.ParseExact(query.TryGetValue("start_date", out var s) ? s.ToString() : "19900101", "yyyyMMdd", CultureInfo.InvariantCulture);
            var to = DateOnly.ParseExact(query.TryGetValue("end_date", out var e) ? e.ToString() : "21000118", "yyyyMMdd", CultureInfo.InvariantCulture);
            return bars.GetValueOrDefault(symbol, []).Where(b => b.Day >= from && b.Day <= to).Select(b => (object)new Dictionary<string, object?>
            {
                ["date"] = b.Day,
                ["open"] = b.Open,
                ["high"] = b.High,
                ["low"] = b.Low,
                ["close"] = b.Close,
                ["volume"] = 1_234_500.0,
                ["amount"] = Math.Round(1_234_500 * b.Close, 1),
                ["outstanding_share"] = 1_000_000_000.0,
                ["turnover"] = 0.0012345,
            });
        });
    }

    /// <summary>The upstream's bars of <paramref name="symbol"/> from now on.</summary>
    public void SetBars(string symbol, IEnumerable<Bar> rows) => bars[symbol] = rows.OrderBy(b => b.Day).ToArray();

    /// <summary>The upstream's factor step table (qfq or hfq) of <paramref name="symbol"/> from now on.</summary>
    public void SetFactors(string symbol, string method, params (DateOnly Day, double Factor)[] steps) => factors[(symbol, method)] = steps;

    /// <summary>The factor the upstream's table has in force on <paramref name="day"/>: its latest step on or before it, else none.</summary>
    public double? FactorOn(string symbol, string method, DateOnly day) =>
        factors.GetValueOrDefault((symbol, method), []).Where(f => f.Day <= day).OrderBy(f => f.Day).Select(f => (double?)f.Factor).LastOrDefault();

    /// <summary>Runs a data script once (a download by script_id) and waits for it to complete.</summary>
    public async Task RunScriptAsync(HttpClient client, string scriptId, object parameters)
    {
        var started = (await (await client.PostAsJsonAsync("/api/data/download", new { script_id = scriptId, parameters })).ExpectAsync(200, 0))["data"]!;
        var run = await WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
        Assert.Equal("completed", run["status"]!.GetValue<string>());
    }

    /// <summary>Calls that fetched bars (not factors).</summary>
    public int BarCalls => AkTools.Calls.Count(c => c.Function == "stock_zh_a_daily" && !c.Query.Contains("factor", StringComparison.Ordinal));
}
