using AkshareWeb.Features.Calendar;
using AkshareWeb.Tests.Infrastructure;
using static AkshareWeb.Tests.Tables.CoverageApp;

namespace AkshareWeb.Tests.Tables;

/// <summary>The coverage app at 2024-06-14 14:00 Beijing time, a Friday before the close (Market:CloseTime 15:30).</summary>
public sealed class BeforeCloseApp() : CoverageApp(new DateTimeOffset(2024, 6, 14, 6, 0, 0, TimeSpan.Zero));

/// <summary>Today counts only once the market's close has passed, in market time.</summary>
public sealed class CoverageCloseTests(BeforeCloseApp app) : IClassFixture<BeforeCloseApp>
{
    [Fact]
    public async Task Today_is_expected_only_after_the_close()
    {
        var (client, _, _) = await app.NewUserAsync();
        // The upstream serves today's bar during the session already; a symbol collected yesterday evening has not.
        await app.CollectAsync(client, "600031", Trading("2024-04-22", "2024-06-14"));
        await app.CollectAsync(client, "600032", Trading("2024-04-22", "2024-06-13"));

        var before = await CoverageAsync(client, "");
        Assert.Equal("2024-06-13", before["expected_through"]!.GetValue<string>());
        var early = KeyOf(before, "600031");
        Assert.Equal(35, early["expected_days"]!.GetValue<int>());
        Assert.Equal(35, early["stored_days"]!.GetValue<int>());
        Assert.Equal("2024-06-14", early["last_date"]!.GetValue<string>());
        Assert.Equal(0, KeyOf(before, "600032")["missing_days"]!.GetValue<int>());
        Assert.Equal(0, before["summary"]!["with_gaps"]!.GetValue<long>());

        // 15:31 Beijing time (the earlier sign-in has expired by then).
        app.Clock!.SetUtcNow(new DateTimeOffset(2024, 6, 14, 7, 31, 0, TimeSpan.Zero));
        (client, _, _) = await app.NewUserAsync();
        var after = await CoverageAsync(client, "");
        Assert.Equal("2024-06-14", after["expected_through"]!.GetValue<string>());
        Assert.Equal(0, KeyOf(after, "600031")["missing_days"]!.GetValue<int>());
        var late = KeyOf(after, "600032");
        Assert.True(late["stale"]!.GetValue<bool>());
        Assert.Equal(["2024-06-14"], Days(late["missing"]));
        Assert.Equal(1, after["summary"]!["stale"]!.GetValue<long>());
    }
}

/// <summary>
/// The coverage app on 2025-01-06 16:00 Beijing time, with a calendar that ends on 2024-12-31: Sina had not published
/// 2025 when it last ran.
/// </summary>
public sealed class PastCalendarApp() : CoverageApp(new DateTimeOffset(2025, 1, 6, 8, 0, 0, TimeSpan.Zero));

public sealed class CoveragePastCalendarTests(PastCalendarApp app) : IClassFixture<PastCalendarApp>
{
    [Fact]
    public async Task Days_past_the_calendar_are_never_missing_and_the_answer_says_so()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.ServeCalendar(CalendarSnapshot.Days.All.Where(d => d.Year <= 2024));
        Assert.Equal("completed", (await app.DownloadAsync(TradingCalendar.ScriptId, client: client))["status"]!.GetValue<string>());
        // December 2024 has no holiday: every weekday traded.
        var december = Enumerable.Range(0, 31).Select(i => new DateOnly(2024, 12, 1).AddDays(i)).Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)).ToList();
        await app.CollectAsync(client, "600041", december);

        var coverage = await CoverageAsync(client, "?to=2025-01-31");
        Assert.True(coverage["past_calendar_end"]!.GetValue<bool>());
        Assert.Equal("2024-12-31", coverage["expected_through"]!.GetValue<string>());
        Assert.Equal("2024-12-31", coverage["calendar"]!["last"]!.GetValue<string>());
        Assert.Equal("akshare:tool_trade_date_hist_sina", coverage["calendar"]!["source"]!.GetValue<string>());
        var key = KeyOf(coverage, "600041");
        Assert.Equal(december.Count, key["expected_days"]!.GetValue<int>());
        Assert.Equal(0, key["missing_days"]!.GetValue<int>());
        Assert.False(key["stale"]!.GetValue<bool>());

        // Without a range the same holds: today is past the calendar's end.
        var whole = await CoverageAsync(client, "");
        Assert.True(whole["past_calendar_end"]!.GetValue<bool>());
        Assert.Equal(0, whole["summary"]!["missing_days"]!.GetValue<long>());

        var days = (await (await client.GetAsync("/api/calendar/trading-days?from=2024-12-30&to=2025-01-10")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(["2024-12-30", "2024-12-31"], Days(days["items"]));
        Assert.True(days["past_calendar_end"]!.GetValue<bool>());
    }
}
