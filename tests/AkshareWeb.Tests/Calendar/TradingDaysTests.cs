using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Tables;

namespace AkshareWeb.Tests.Calendar;

/// <summary>The bundled calendar's known facts, and the counting coverage does against a calendar, one outcome each.</summary>
public sealed class TradingDaysTests
{
    private static DateOnly D(string day) => DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void The_bundled_calendar_starts_on_the_first_trading_day_and_says_it_is_derived()
    {
        var days = CalendarSnapshot.Days;
        Assert.Equal(D("1990-12-19"), days.First);
        Assert.Equal(D("2026-12-31"), days.Last);
        Assert.StartsWith("derived: chinese-days 1.5.7", CalendarSnapshot.Source, StringComparison.Ordinal);
        // The same list Sina publishes up to 2026 (AKShare's calendar.json counts it): 8,797 days.
        Assert.Equal(8797, days.Count);
        Assert.DoesNotContain(days.All, d => d.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday);
    }

    [Fact]
    public void Spring_Festival_2024_is_closed_from_the_eve_and_its_Sunday_working_day_is_no_trading_day()
    {
        var days = CalendarSnapshot.Days;
        Assert.Contains(D("2024-02-08"), days.All);
        for (var day = D("2024-02-09"); day <= D("2024-02-17"); day = day.AddDays(1)) Assert.False(days.Contains(day), day.ToString());
        Assert.False(days.Contains(D("2024-02-04")));
        Assert.False(days.Contains(D("2024-02-18")));
        Assert.True(days.Contains(D("2024-02-19")));
    }

    [Fact]
    public void Early_closures_come_from_the_exchange_notices()
    {
        var days = CalendarSnapshot.Days;
        Assert.False(days.Contains(D("1997-07-01")));
        Assert.False(days.Contains(D("1999-12-20")));
        Assert.False(days.Contains(D("2004-01-19")));
        // A trading day Sina's own list leaves out and AKShare adds back.
        Assert.True(days.Contains(D("1992-05-04")));
    }

    [Theory]
    [InlineData("2024-06-14 15:29", "2024-06-13")]
    [InlineData("2024-06-14 15:30", "2024-06-14")]
    [InlineData("2024-06-15 10:00", "2024-06-14")]
    [InlineData("2024-06-11 09:00", "2024-06-07")]
    [InlineData("2027-01-05 16:00", "2026-12-31")]
    public void The_last_closed_day_counts_today_only_after_the_close(string now, string expected)
    {
        var moment = DateTime.ParseExact(now, "yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(D(expected), CalendarSnapshot.Days.LastClosed(moment, new TimeOnly(15, 30)));
    }

    [Fact]
    public void Trading_weeks_and_months_are_counted_once_however_many_days_they_have()
    {
        var days = CalendarSnapshot.Days;
        // 2024-04-22 to 2024-05-17: weeks of 04-22, 04-29 (two days before Labour Day), 05-06, 05-13; months April and May.
        var range = days.Between(D("2024-04-22"), D("2024-05-17"));
        Assert.Equal(17, range.GetOffsetAndLength(days.Count).Length);
        Assert.Equal(4, days.UnitsIn(range, CalendarUnit.Week));
        Assert.Equal(2, days.UnitsIn(range, CalendarUnit.Month));
        // Spring Festival 2024: the week of 02-12 has no trading day and is not expected.
        Assert.Equal(2, days.UnitsIn(days.Between(D("2024-02-05"), D("2024-02-23")), CalendarUnit.Week));
    }

    [Fact]
    public void A_window_past_the_calendar_ends_with_it_and_says_so()
    {
        var window = CoverageWindow.Of(CalendarSnapshot.Days, new DateTime(2027, 1, 20, 16, 0, 0), new TimeOnly(15, 30), D("2026-12-01"), D("2027-01-15"));
        Assert.Equal(D("2026-12-31"), window.End);
        Assert.True(window.PastCalendarEnd);
        var before = CoverageWindow.Of(CalendarSnapshot.Days, new DateTime(2024, 6, 14, 10, 0, 0), new TimeOnly(15, 30), null, D("2024-06-30"));
        Assert.Equal(D("2024-06-13"), before.End);
        Assert.False(before.PastCalendarEnd);
    }

    [Fact]
    public void Missing_days_are_named_and_runs_of_them_merged_across_holidays()
    {
        var days = CalendarSnapshot.Days;
        var window = new CoverageWindow(CoverageWindow.NoLowerBound, D("2024-06-14"), null, null, false);
        var stored = Weekdays(D("2024-05-27"), D("2024-06-14")).Where(d => d != D("2024-06-07") && d != D("2024-06-11") && d != D("2024-06-10")).ToList();
        var key = new KeyFigures([], "{}", D("2024-05-27"), D("2024-06-14"), stored.Count) { Dates = stored };
        var count = CoverageMath.Count(key, window, days);
        Assert.Equal(14, count.Expected);
        Assert.Equal(2, count.Missing);
        Assert.Equal([D("2024-06-07"), D("2024-06-11")], count.MissingDays);
        // 06-07 and 06-11 are neighbours in the calendar (06-10 is the Dragon Boat Festival): one range.
        Assert.Equal([D("2024-06-07"), D("2024-06-11")], Assert.Single(count.MissingRanges!));
        Assert.False(count.Stale);
    }

    [Fact]
    public void A_confirmed_empty_day_is_not_missing_and_a_stale_tail_is()
    {
        var days = CalendarSnapshot.Days;
        var window = new CoverageWindow(CoverageWindow.NoLowerBound, D("2024-06-14"), null, null, false);
        var stored = Weekdays(D("2024-06-03"), D("2024-06-05")).ToList();
        var key = new KeyFigures([], "{}", D("2024-06-03"), D("2024-06-05"), stored.Count) { Dates = stored };
        key.Marks.Add(D("2024-06-06"));
        var count = CoverageMath.Count(key, window, days);
        Assert.Equal(1, count.Confirmed);
        Assert.Equal([D("2024-06-07"), D("2024-06-11"), D("2024-06-12"), D("2024-06-13"), D("2024-06-14")], count.MissingDays);
        Assert.True(count.Stale);
    }

    private static IEnumerable<DateOnly> Weekdays(DateOnly from, DateOnly to)
    {
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)) yield return day;
        }
    }
}
