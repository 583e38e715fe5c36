using System.Globalization;
using System.Text.RegularExpressions;

namespace AkshareWeb.Features.Parameters;

/// <summary>
/// The relative dates a data script's date default may be (data-scripts/README.md): <c>today</c> moved by days,
/// weeks, months or years (<c>today-30d</c>), and the last day of the latest quarter, month or year that has ended
/// (<c>quarter_end</c>; on 2026-11-29 that is 2026-09-30), moved back whole periods (<c>quarter_end-1q</c>). Report
/// dates are quarter ends, which a fixed day count cannot name.
/// </summary>
public static partial class RelativeDates
{
    public static bool IsRelative(string text) => Pattern().IsMatch(text);

    /// <summary>The date the expression names on <paramref name="today"/>; null when it is not one.</summary>
    public static DateOnly? Resolve(string text, DateOnly today)
    {
        var m = Pattern().Match(text);
        if (!m.Success) return null;
        var amount = m.Groups["n"].Success ? int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture) * (m.Groups["sign"].Value == "-" ? -1 : 1) : 0;
        var firstOfMonth = new DateOnly(today.Year, today.Month, 1);
        return m.Groups["base"].Value switch
        {
            "today" => m.Groups["unit"].Value switch
            {
                "d" => today.AddDays(amount),
                "w" => today.AddDays(7 * amount),
                "m" => today.AddMonths(amount),
                "y" => today.AddYears(amount),
                _ => today,
            },
            // The end of a period is the day before the next one starts: the current period's first day, moved back.
            "month_end" => firstOfMonth.AddMonths(amount).AddDays(-1),
            "quarter_end" => firstOfMonth.AddMonths(-((today.Month - 1) % 3)).AddMonths(3 * amount).AddDays(-1),
            _ => new DateOnly(today.Year, 1, 1).AddYears(amount).AddDays(-1),
        };
    }

    // Each period end moves back in its own unit only: quarter_end-1q, month_end-3m, year_end-1y.
    [GeneratedRegex(@"^(?:(?<base>today)(?:(?<sign>[+-])(?<n>\d{1,4})(?<unit>[dwmy]))?|(?<base>quarter_end)(?:(?<sign>-)(?<n>\d{1,3})q)?|(?<base>month_end)(?:(?<sign>-)(?<n>\d{1,4})m)?|(?<base>year_end)(?:(?<sign>-)(?<n>\d{1,3})y)?)$")]
    private static partial Regex Pattern();
}
