using System.Globalization;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Parquet;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// Unadjusted bars plus factor tables, adjusted when read: three symbols whose dividends fall on different days (one
/// with its first factor after its first bars, one with none in the window), collected by the library's scripts
/// from the fake Sina function; the data page and the exports with adjust=qfq|hfq equal the stored prices times or
/// divided by the factor in force, computed here by hand from what the fake served; a new dividend changes the
/// answer with no bar fetched again.
/// </summary>
public sealed class AdjustedReadTests(SinaBarsApp app) : IClassFixture<SinaBarsApp>
{
    private static readonly string[] Symbols = ["sh600001", "sz000002", "sh600003"];
    private static readonly DateOnly First = new(2024, 6, 3);
    private static readonly string[] Prices = ["open", "high", "low", "close"];

    private static DateOnly Day(int d) => new(2024, 6, d);

    /// <summary>Ten trading days of bars from 06-03, opening at <paramref name="start"/> and rising 0.37 a day.</summary>
    private static IEnumerable<SinaBarsApp.Bar> TenDays(double start) =>
        Enumerable.Range(0, 14).Select(i => First.AddDays(i)).Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            .Select((d, i) => new SinaBarsApp.Bar(d, Math.Round(start + i * 0.37, 2), Math.Round(start + i * 0.37 + 0.5, 2),
                Math.Round(start + i * 0.37 - 0.41, 2), Math.Round(start + i * 0.37 + 0.13, 2)));

    private async Task CollectAsync(HttpClient client, string symbol)
    {
        await app.RunScriptAsync(client, "stock_zh_a_daily_unadjusted", new { symbol, start_date = "20240601", end_date = "20240630" });
        await app.RunScriptAsync(client, "stock_zh_a_daily_qfq_factor", new { symbol });
        await app.RunScriptAsync(client, "stock_zh_a_daily_hfq_factor", new { symbol });
    }

    /// <summary>Ten trading days of bars per symbol, and each symbol's factor tables as Sina has them.</summary>
    private async Task<HttpClient> CollectedAsync()
    {
        for (var s = 0; s < Symbols.Length; s++) app.SetBars(Symbols[s], TenDays(10.0 * (s + 1)));

        // sh600001: a dividend on 06-06, Sina's 1900-01-01 row before it. sz000002: its first factor on 06-05, after its
        // first two bars, and a dividend on 06-11. sh600003: no dividend in the window.
        app.SetFactors("sh600001", "hfq", (new DateOnly(1900, 1, 1), 1.0), (Day(6), 1.25));
        app.SetFactors("sh600001", "qfq", (new DateOnly(1900, 1, 1), 1.25), (Day(6), 1.0));
        app.SetFactors("sz000002", "hfq", (Day(5), 2.0), (Day(11), 2.5));
        app.SetFactors("sz000002", "qfq", (Day(5), 1.25), (Day(11), 1.0));
        app.SetFactors("sh600003", "hfq", (new DateOnly(1900, 1, 1), 3.0));
        app.SetFactors("sh600003", "qfq", (new DateOnly(1900, 1, 1), 1.0));

        var client = (await app.NewUserAsync()).Client;
        foreach (var symbol in Symbols) await CollectAsync(client, symbol);
        return client;
    }

    /// <summary>A stored price adjusted by hand: times the hfq factor in force, divided by the qfq one, null before the first.</summary>
    private double? Expected(string symbol, DateOnly day, double stored, string method) =>
        app.FactorOn(symbol, method, day) is { } factor ? (method == "hfq" ? stored * factor : stored / factor) : null;

    private static DateOnly DayOf(JsonNode row) => DateOnly.ParseExact(row["date"]!.GetValue<string>(), "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private async Task<List<JsonNode>> PageAsync(HttpClient client, string query) =>
        (await (await client.GetAsync($"/api/tables/{SinaBarsApp.Bars}/data?page_size=100&sort_by=symbol&{query}")).ExpectAsync(200, 0))["data"]!["items"]!
            .AsArray().Select(r => r!).ToList();

    [Theory]
    [InlineData("hfq")]
    [InlineData("qfq")]
    public async Task The_adjusted_page_is_each_stored_price_with_the_factor_in_force_at_its_date(string method)
    {
        var client = await CollectedAsync();
        var stored = await PageAsync(client, "");
        var adjusted = await PageAsync(client, "adjust=" + method);
        // Three symbols of ten days (and the one of the dividend test, when it ran first).
        Assert.InRange(adjusted.Count, 30, 40);
        Assert.Equal(stored.Select(r => r["id"]!.GetValue<long>()), adjusted.Select(r => r["id"]!.GetValue<long>()));
        var before = 0;
        for (var i = 0; i < stored.Count; i++)
        {
            var (symbol, day) = (stored[i]["symbol"]!.GetValue<string>(), DayOf(stored[i]));
            foreach (var price in Prices)
            {
                var expected = Expected(symbol, day, stored[i][price]!.GetValue<double>(), method);
                Assert.Equal(expected, adjusted[i][price]?.GetValue<double>());
                if (expected is null) before++;
            }

            // Everything that is not a price is as stored.
            Assert.Equal(stored[i]["volume"]!.GetValue<double>(), adjusted[i]["volume"]!.GetValue<double>());
            Assert.Equal(stored[i]["amount"]!.GetValue<double>(), adjusted[i]["amount"]!.GetValue<double>());
        }

        // sz000002's 06-03 and 06-04 come before its first factor: no factor in force, no adjusted price.
        Assert.Equal(2 * Prices.Length, before);
        var early = adjusted.Single(r => r["symbol"]!.GetValue<string>() == "sz000002" && DayOf(r) == Day(3));
        Assert.Null(early["close"]);
        Assert.NotNull(stored.Single(r => r["id"]!.GetValue<long>() == early["id"]!.GetValue<long>())["close"]);

        // Spot checks against numbers written out: sh600001 on 06-05 (before its dividend) and 06-06 (from it).
        var spot = adjusted.Where(r => r["symbol"]!.GetValue<string>() == "sh600001").ToDictionary(DayOf, r => r["close"]!.GetValue<double>());
        Assert.Equal(method == "hfq" ? 10.87 * 1.0 : 10.87 / 1.25, spot[Day(5)]);
        Assert.Equal(method == "hfq" ? 11.24 * 1.25 : 11.24 / 1.0, spot[Day(6)]);
    }

    [Fact]
    public async Task The_adjusted_exports_hold_the_same_prices_as_the_page()
    {
        var client = await CollectedAsync();
        var page = (await PageAsync(client, "adjust=qfq")).ToDictionary(r => r["id"]!.GetValue<long>());

        var csv = await client.GetAsync($"/api/tables/{SinaBarsApp.Bars}/export?format=csv&adjust=qfq&sort_by=symbol&excel_safe=false");
        Assert.Equal(200, (int)csv.StatusCode);
        var lines = (await csv.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        Assert.Equal(page.Count, lines.Length - 1);
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(',');
            var row = page[long.Parse(fields[Array.IndexOf(header, "id")], CultureInfo.InvariantCulture)];
            foreach (var price in Prices)
            {
                var text = fields[Array.IndexOf(header, price)];
                Assert.Equal(row[price]?.GetValue<double>(), text.Length == 0 ? null : double.Parse(text, CultureInfo.InvariantCulture));
            }
        }

        var parquet = await client.GetAsync($"/api/tables/{SinaBarsApp.Bars}/export?format=parquet&adjust=qfq&sort_by=symbol");
        Assert.Equal(200, (int)parquet.StatusCode);
        await using var file = new MemoryStream(await parquet.Content.ReadAsByteArrayAsync());
        await using var reader = await ParquetReader.CreateAsync(file);
        using var group = reader.OpenRowGroupReader(0);
        var fieldsByName = reader.Schema.GetDataFields().ToDictionary(f => f.Name);
        var ids = new long?[group.RowCount];
        await group.ReadAsync(fieldsByName["id"], ids.AsMemory());
        var closes = new double?[group.RowCount];
        await group.ReadAsync(fieldsByName["close"], closes.AsMemory());
        Assert.Equal(ids.Select(id => page[id!.Value]["close"]?.GetValue<double>()), closes);
    }

    [Fact]
    public async Task A_new_dividend_changes_the_adjusted_answer_without_fetching_a_bar_again()
    {
        // A symbol of this test's own, so that the dividend it adds leaves the other tests' factors as they were.
        var client = await CollectedAsync();
        app.SetBars("sz000004", TenDays(40));
        app.SetFactors("sz000004", "hfq", (new DateOnly(1900, 1, 1), 3.0));
        app.SetFactors("sz000004", "qfq", (new DateOnly(1900, 1, 1), 1.0));
        await CollectAsync(client, "sz000004");
        var rows = (await PageAsync(client, "filter[symbol]=sz000004")).ToDictionary(DayOf, r => r["close"]!.GetValue<double>());
        var hfqBefore = (await PageAsync(client, "adjust=hfq&filter[symbol]=sz000004")).ToDictionary(DayOf, r => r["close"]!.GetValue<double>());
        Assert.Equal(10, rows.Count);
        Assert.All(rows, r => Assert.Equal(r.Value * 3.0, hfqBefore[r.Key]));
        var barCalls = app.BarCalls;

        // sz000004 goes ex-dividend on 06-12: its hfq table gains a step, its whole qfq table is re-based.
        app.SetFactors("sz000004", "hfq", (new DateOnly(1900, 1, 1), 3.0), (Day(12), 3.6));
        app.SetFactors("sz000004", "qfq", (new DateOnly(1900, 1, 1), 1.2), (Day(12), 1.0));
        await app.RunScriptAsync(client, "stock_zh_a_daily_hfq_factor", new { symbol = "sz000004" });
        await app.RunScriptAsync(client, "stock_zh_a_daily_qfq_factor", new { symbol = "sz000004" });

        var hfq = (await PageAsync(client, "adjust=hfq&filter[symbol]=sz000004")).ToDictionary(DayOf, r => r["close"]!.GetValue<double>());
        var qfq = (await PageAsync(client, "adjust=qfq&filter[symbol]=sz000004")).ToDictionary(DayOf, r => r["close"]!.GetValue<double>());
        foreach (var (day, close) in rows)
        {
            Assert.Equal(day >= Day(12) ? close * 3.6 : close * 3.0, hfq[day]);
            Assert.Equal(day >= Day(12) ? close : close / 1.2, qfq[day]);
        }

        Assert.NotEqual(hfqBefore[Day(12)], hfq[Day(12)]);
        Assert.Equal(barCalls, app.BarCalls);
        // The other symbols' answers did not move.
        var other = (await PageAsync(client, "adjust=hfq&filter[symbol]=sh600001")).ToDictionary(DayOf, r => r["close"]!.GetValue<double>());
        Assert.Equal(11.24 * 1.25, other[Day(6)]);
    }

    [Fact]
    public async Task An_adjustment_that_cannot_be_answered_is_a_clear_error()
    {
        var client = await CollectedAsync();
        var unknown = await (await client.GetAsync($"/api/tables/{SinaBarsApp.Bars}/data?adjust=forward")).ExpectAsync(422, 3001);
        Assert.Equal("adjust", unknown["detail"]![0]!["field"]!.GetValue<string>());
        await (await client.GetAsync($"/api/tables/{SinaBarsApp.Bars}/export?adjust=QFQ")).ExpectAsync(422, 3001);

        // A factor table declares no adjustment of its own.
        var undeclared = await (await client.GetAsync("/api/tables/ak_stock_zh_a_daily_hfq_factor/data?adjust=hfq")).ExpectAsync(422, 3001);
        Assert.Contains("declares no price adjustment", undeclared["detail"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await (await client.GetAsync("/api/tables/ak_stock_zh_a_daily_hfq_factor/export?adjust=hfq")).ExpectAsync(422, 3001);

        // Filters and sorts on a price would act on the stored prices, not the shown ones.
        var sorted = await (await client.GetAsync($"/api/tables/{SinaBarsApp.Bars}/data?adjust=hfq&sort_by=close")).ExpectAsync(422, 3001);
        Assert.Equal("sort_by", sorted["detail"]![0]!["field"]!.GetValue<string>());
        var filtered = await (await client.GetAsync($"/api/tables/{SinaBarsApp.Bars}/data?adjust=qfq&filter[close][gt]=10")).ExpectAsync(422, 3001);
        Assert.Equal("filter[close]", filtered["detail"]![0]!["field"]!.GetValue<string>());

        // Without adjust, or with it empty, the stored prices as before.
        var plain = await PageAsync(client, "adjust=&filter[symbol]=sh600001&filter[date]=2024-06-06");
        Assert.Equal(11.24, plain.Single()["close"]!.GetValue<double>());
    }
}
