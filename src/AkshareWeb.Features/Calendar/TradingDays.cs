namespace AkshareWeb.Features.Calendar;

/// <summary>How a table's rows follow the calendar: one row per trading day, per trading week, or per trading month.</summary>
public enum CalendarUnit
{
    Day,
    Week,
    Month,
}

/// <summary>
/// The trading days of one calendar, ascending, and the counting that coverage does against them. A trading week is
/// an ISO week (Monday to Sunday) with at least one trading day, a trading month a month with at least one; each is
/// numbered in calendar order, so the units between two days are a subtraction.
/// </summary>
public sealed class TradingDays
{
    private readonly DateOnly[] days;
    private readonly int[] weeks;
    private readonly int[] months;

    public TradingDays(IEnumerable<DateOnly> days)
    {
        this.days = days.Distinct().Order().ToArray();
        weeks = new int[this.days.Length];
        months = new int[this.days.Length];
        for (var i = 1; i < this.days.Length; i++)
        {
            weeks[i] = weeks[i - 1] + (WeekOf(this.days[i]) == WeekOf(this.days[i - 1]) ? 0 : 1);
            months[i] = months[i - 1] + (MonthOf(this.days[i]) == MonthOf(this.days[i - 1]) ? 0 : 1);
        }
    }

    public int Count => days.Length;

    public DateOnly? First => days.Length == 0 ? null : days[0];

    public DateOnly? Last => days.Length == 0 ? null : days[^1];

    public IReadOnlyList<DateOnly> All => days;

    public DateOnly this[int index] => days[index];

    public bool Contains(DateOnly day) => Array.BinarySearch(days, day) >= 0;

    /// <summary>The index of the first trading day on or after <paramref name="day"/> (<see cref="Count"/> when none).</summary>
    public int IndexOnOrAfter(DateOnly day)
    {
        var i = Array.BinarySearch(days, day);
        return i >= 0 ? i : ~i;
    }

    /// <summary>The trading days from <paramref name="from"/> to <paramref name="to"/>, both included, as an index range.</summary>
    public Range Between(DateOnly from, DateOnly to) =>
        to < from ? new Range(0, 0) : new Range(IndexOnOrAfter(from), Math.Max(IndexOnOrAfter(from), IndexOnOrAfter(to.AddDays(1))));

    /// <summary>The latest trading day on or before <paramref name="day"/>, if any.</summary>
    public DateOnly? LastOnOrBefore(DateOnly day)
    {
        var i = IndexOnOrAfter(day.AddDays(1)) - 1;
        return i >= 0 ? days[i] : null;
    }

    /// <summary>The number of the unit (trading day, week or month) the trading day at <paramref name="index"/> is in.</summary>
    public int UnitOf(int index, CalendarUnit unit) => unit switch
    {
        CalendarUnit.Week => weeks[index],
        CalendarUnit.Month => months[index],
        _ => index,
    };

    /// <summary>The units that have a trading day within <paramref name="range"/>.</summary>
    public int UnitsIn(Range range, CalendarUnit unit)
    {
        var (start, length) = range.GetOffsetAndLength(days.Length);
        return length == 0 ? 0 : UnitOf(start + length - 1, unit) - UnitOf(start, unit) + 1;
    }

    /// <summary>The Monday of the ISO week <paramref name="day"/> is in.</summary>
    public static DateOnly WeekOf(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    /// <summary>The first day of the month <paramref name="day"/> is in.</summary>
    public static DateOnly MonthOf(DateOnly day) => new(day.Year, day.Month, 1);

    /// <summary>The first day of the unit <paramref name="day"/> is in: itself, its week's Monday or its month's first.</summary>
    public static DateOnly UnitStart(DateOnly day, CalendarUnit unit) => unit switch
    {
        CalendarUnit.Week => WeekOf(day),
        CalendarUnit.Month => MonthOf(day),
        _ => day,
    };

    /// <summary>
    /// The last trading day whose data is in by market time <paramref name="now"/>: today once <paramref name="close"/>
    /// has passed on a trading day, else the trading day before today. Past the calendar's end, its last day.
    /// </summary>
    public DateOnly? LastClosed(DateTime now, TimeOnly close)
    {
        var today = DateOnly.FromDateTime(now);
        return Contains(today) && TimeOnly.FromDateTime(now) >= close ? today : LastOnOrBefore(today.AddDays(-1));
    }
}
