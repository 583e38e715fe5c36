using AkshareWeb.Features.Calendar;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// The days a table's keys are held to: from <see cref="Lower"/> (the request's <c>from</c>, else no bound) to
/// <see cref="End"/>, the last trading day whose data is in (today once the market's close has passed, else the
/// trading day before), or the request's <c>to</c> when earlier. Days past the calendar's last day are never expected
/// (<see cref="PastCalendarEnd"/> says the range reached them). <see cref="End"/> before <see cref="Lower"/>: nothing is expected.
/// </summary>
public sealed record CoverageWindow(DateOnly Lower, DateOnly End, DateOnly? From, DateOnly? To, bool PastCalendarEnd)
{
    public static readonly DateOnly NoLowerBound = new(1900, 1, 1);

    public static CoverageWindow Of(TradingDays days, DateTime marketNow, TimeOnly close, DateOnly? from, DateOnly? to)
    {
        var lower = from ?? NoLowerBound;
        var closed = days.LastClosed(marketNow, close);
        var end = closed is { } c && to is { } t ? (t < c ? t : c) : closed ?? lower.AddDays(-1);
        var past = days.Last is { } last && (to ?? DateOnly.FromDateTime(marketNow)) > last;
        return new CoverageWindow(lower, end, from, to, past);
    }
}

/// <summary>One key's coverage as the API shows it. Counts are of trading days, or of trading weeks or months for a
/// key of weekly or monthly bars (<see cref="Unit"/>), whose missing ones are named by their last trading day.</summary>
public sealed record KeyCoverage(
    IReadOnlyDictionary<string, object?> Key, string Unit, DateOnly FirstDate, DateOnly LastDate,
    int ExpectedDays, int StoredDays, int MissingDays, IReadOnlyList<DateOnly> Missing, IReadOnlyList<DateOnly[]> MissingRanges,
    int ConfirmedEmptyDays, IReadOnlyList<DateOnly> ConfirmedEmpty, bool Stale);

/// <summary>A key's figures against the calendar: counts always, the days themselves when its dates were read.</summary>
public sealed record KeyCount(int Expected, int Stored, int Missing, int Confirmed, bool Stale,
    IReadOnlyList<DateOnly>? MissingDays = null, IReadOnlyList<DateOnly[]>? MissingRanges = null, IReadOnlyList<DateOnly>? ConfirmedDays = null);

/// <summary>
/// Coverage arithmetic. A key is expected from its first stored date or the window's start, whichever is later, to
/// the window's end; within that, every trading day (week, month) should hold a row. A key is stale when its last
/// date is behind the end's day (week, month) and that end is not confirmed empty: its tail counts as missing.
/// </summary>
public static class CoverageMath
{
    /// <summary>At most this many dates are listed per key; the ranges cover them all.</summary>
    public const int ListedDays = 100;

    public static KeyCount Count(KeyFigures key, CoverageWindow window, TradingDays days)
    {
        var start = key.First > window.Lower ? key.First : window.Lower;
        var range = days.Between(start, window.End);
        var expected = days.UnitsIn(range, key.Unit);
        if (expected == 0) return new KeyCount(0, 0, 0, 0, false, [], [], []);
        if (key.Dates is not null) return Exact(key, range, days);
        // Without its dates: every counted row is on an expected day (rows on other days were left out by the query).
        var stored = Math.Min(key.Stored, expected);
        var endDay = days[range.End.GetOffset(days.Count) - 1];
        var stale = TradingDays.UnitStart(key.Last, key.Unit) < TradingDays.UnitStart(endDay, key.Unit);
        return new KeyCount(expected, stored, expected - stored, 0, stale);
    }

    /// <summary>Day by day (unit by unit) from the key's stored dates and its confirmed-empty marks.</summary>
    private static KeyCount Exact(KeyFigures key, Range range, TradingDays days)
    {
        var unit = key.Unit;
        var stored = key.Dates!.Select(d => TradingDays.UnitStart(d, unit)).ToHashSet();
        var marked = key.Marks.Select(d => TradingDays.UnitStart(d, unit)).ToHashSet();
        var (first, length) = range.GetOffsetAndLength(days.Count);
        var missing = new List<DateOnly>();
        var ranges = new List<DateOnly[]>();
        var confirmed = new List<DateOnly>();
        int expected = 0, storedUnits = 0, missingUnits = 0, confirmedUnits = 0;
        var previousMissing = false;
        var endMissing = false;
        for (var i = first; i < first + length;)
        {
            // One unit: the trading days i..j of one day, week or month.
            var j = i;
            while (j + 1 < first + length && days.UnitOf(j + 1, unit) == days.UnitOf(i, unit)) j++;
            var unitStart = TradingDays.UnitStart(days[i], unit);
            expected++;
            var isMissing = false;
            if (stored.Contains(unitStart))
            {
                storedUnits++;
            }
            else if (marked.Contains(unitStart))
            {
                confirmedUnits++;
                if (confirmed.Count < ListedDays) confirmed.Add(days[j]);
            }
            else
            {
                isMissing = true;
                missingUnits++;
                if (missing.Count < ListedDays) missing.Add(days[j]);
                if (previousMissing) ranges[^1][1] = days[j];
                else ranges.Add([days[i], days[j]]);
            }

            previousMissing = isMissing;
            endMissing = isMissing;
            i = j + 1;
        }

        var endDay = days[first + length - 1];
        var stale = endMissing && TradingDays.UnitStart(key.Last, unit) < TradingDays.UnitStart(endDay, unit);
        return new KeyCount(expected, storedUnits, missingUnits, confirmedUnits, stale, missing, ranges, confirmed);
    }

    public static string UnitName(CalendarUnit unit) => unit switch
    {
        CalendarUnit.Week => "week",
        CalendarUnit.Month => "month",
        _ => "day",
    };
}
