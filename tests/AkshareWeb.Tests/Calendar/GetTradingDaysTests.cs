using System.Globalization;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Calendar;

/// <summary>The collecting app with the library's own tool_trade_date_hist_sina script.</summary>
public class CalendarApp : CollectingApp
{
    public CalendarApp() => WriteScript("stocks/weekly/tool_trade_date_hist_sina.json",
        File.ReadAllText(Path.Combine(Host.OpenApiDocumentTests.RepositoryRoot(), "data-scripts", "stocks", "weekly", "tool_trade_date_hist_sina.json")));

    /// <summary>Sina's answer as AKTools writes it: one column trade_date, dates as pandas' ISO midnights.</summary>
    public void ServeCalendar(IEnumerable<DateOnly> days) =>
        AkTools.Rows(TradingCalendar.ScriptId, days.Select(d => (object)new Dictionary<string, object?> { ["trade_date"] = d }).ToArray());
}

public sealed class GetTradingDaysTests(CalendarApp app) : IClassFixture<CalendarApp>
{
    private static DateOnly D(string day) => DateOnly.Parse(day, CultureInfo.InvariantCulture);

    private static List<string> Items(JsonNode data) => data["items"]!.AsArray().Select(d => d!.GetValue<string>()).ToList();

    private async Task<JsonNode> TradingDaysAsync(HttpClient client, string query) =>
        (await (await client.GetAsync("/api/calendar/trading-days" + query)).ExpectAsync(200, 0))["data"]!;

    [Fact]
    public async Task The_calendar_is_known_out_of_the_box_and_says_it_is_derived()
    {
        var (client, _, _) = await app.NewUserAsync();
        var february = await TradingDaysAsync(client, "?from=2024-02-01&to=2024-02-29");
        Assert.Equal(["2024-02-01", "2024-02-02", "2024-02-05", "2024-02-06", "2024-02-07", "2024-02-08",
            "2024-02-19", "2024-02-20", "2024-02-21", "2024-02-22", "2024-02-23", "2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29"], Items(february));
        Assert.Equal("1990-12-19", february["first"]!.GetValue<string>());
        Assert.Equal("2026-12-31", february["last"]!.GetValue<string>());
        Assert.StartsWith("derived: chinese-days", february["source"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(february["updated_at"]);
        Assert.False(february["past_calendar_end"]!.GetValue<bool>());
        Assert.Equal("1990-12-19", Items(await TradingDaysAsync(client, "?to=1990-12-19")).Single());
    }

    [Fact]
    public async Task A_range_past_the_calendar_is_answered_as_far_as_it_goes_and_says_so()
    {
        var (client, _, _) = await app.NewUserAsync();
        var answer = await TradingDaysAsync(client, "?from=2026-12-28&to=2027-01-15");
        Assert.Equal(["2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31"], Items(answer));
        Assert.True(answer["past_calendar_end"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("?from=2024-13-01", "from")]
    [InlineData("?to=20240101", "to")]
    [InlineData("?from=2024-03-01&to=2024-02-01", "to")]
    public async Task A_bad_day_is_a_422_naming_it(string query, string field)
    {
        var (client, _, _) = await app.NewUserAsync();
        var error = await (await client.GetAsync("/api/calendar/trading-days" + query)).ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);
    }

    [Fact]
    public async Task The_calendar_needs_a_sign_in() =>
        await (await app.CreateClient().GetAsync("/api/calendar/trading-days")).ExpectAsync(401, 1001);

    /// <summary>
    /// One story, since the calendar is one per service: broken answers are refused with the reason and leave the
    /// calendar as it was; a whole answer replaces it, days it no longer has go, and its source is named.
    /// </summary>
    [Fact]
    public async Task A_run_of_the_calendar_script_replaces_the_calendar_and_refuses_a_broken_answer()
    {
        var (client, _, _) = await app.NewUserAsync();
        var snapshot = CalendarSnapshot.Days.All;

        app.AkTools.NoData(TradingCalendar.ScriptId);
        var empty = await app.DownloadAsync(TradingCalendar.ScriptId, client: client);
        Assert.Equal("failed", empty["status"]!.GetValue<string>());
        Assert.Contains("refused to replace the trading calendar: the answer holds no trading day", empty["error_message"]!.GetValue<string>(), StringComparison.Ordinal);

        app.ServeCalendar(snapshot.Where(d => d.Year >= 2020));
        var shortAnswer = await app.DownloadAsync(TradingCalendar.ScriptId, client: client);
        Assert.Equal("failed", shortAnswer["status"]!.GetValue<string>());
        var reason = shortAnswer["error_message"]!.GetValue<string>();
        Assert.Contains("far fewer than the 8,797 of the calendar it would replace", reason, StringComparison.Ordinal);
        Assert.Contains("the calendar stays as it was", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("written and stay", reason, StringComparison.Ordinal);
        Assert.Equal(0, shortAnswer["rows_inserted"]!.GetValue<long>());
        Assert.Equal(0, shortAnswer["rows_after"]!.GetValue<long>());

        var kept = await TradingDaysAsync(client, "?from=2024-03-04&to=2024-03-06");
        Assert.StartsWith("derived:", kept["source"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["2024-03-04", "2024-03-05", "2024-03-06"], Items(kept));
        await using (var db = await app.OpenDatabaseAsync())
        {
            Assert.Equal(0, await db.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'ak\\_tool\\_trade\\_date\\_hist\\_sina%'"));
        }

        // Sina's answer as it might come: 2024-03-05 gone, next year's first days published.
        var sina = snapshot.Where(d => d != D("2024-03-05")).Concat([D("2027-01-04"), D("2027-01-05")]).ToList();
        app.ServeCalendar(sina);
        var replaced = await app.DownloadAsync(TradingCalendar.ScriptId, client: client);
        Assert.Equal("completed", replaced["status"]!.GetValue<string>());

        var now = await TradingDaysAsync(client, "?from=2024-03-04&to=2024-03-06");
        Assert.Equal(["2024-03-04", "2024-03-06"], Items(now));
        Assert.Equal("akshare:tool_trade_date_hist_sina", now["source"]!.GetValue<string>());
        Assert.NotNull(now["updated_at"]);
        Assert.Equal("2027-01-05", now["last"]!.GetValue<string>());
        await using (var db = await app.OpenDatabaseAsync())
        {
            Assert.Equal(sina.Count, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_tool_trade_date_hist_sina"));
        }

        // The next answer is held to the calendar now in force, and refused the same way.
        app.AkTools.Rows(TradingCalendar.ScriptId);
        var emptyAgain = await app.DownloadAsync(TradingCalendar.ScriptId, client: client);
        Assert.Equal("failed", emptyAgain["status"]!.GetValue<string>());
        Assert.Equal("akshare:tool_trade_date_hist_sina", (await TradingDaysAsync(client, "?from=2024-03-04&to=2024-03-06"))["source"]!.GetValue<string>());
        await using (var db = await app.OpenDatabaseAsync())
        {
            Assert.Equal(sina.Count, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_tool_trade_date_hist_sina"));
        }
    }
}
