using System.Globalization;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Calendar;

/// <summary>
/// Refuses a run of tool_trade_date_hist_sina whose answer is obviously broken: no trading day at all, or far fewer
/// than the calendar it would replace (<see cref="MinimumShare"/>). The function always answers the whole history
/// since 1990, so a legitimate answer is never much shorter than the calendar in force: at most by a year that Sina
/// has not published yet (about 250 of some 8,800 days). A cut-off download is; replacing the calendar with it would
/// make every later day of every table look "past the calendar" and never missing. The run then fails with the
/// reason, and the calendar stays as it was.
/// </summary>
public sealed class CalendarAnswerCheck(TradingCalendar calendar) : IReplacementCheck
{
    public const double MinimumShare = 0.9;

    public string Table => TradingCalendar.Table;

    public async ValueTask<string?> RefusalAsync(MySqlConnection connection, string? answerTable, CancellationToken ct)
    {
        var current = await calendar.CurrentAsync(ct);
        var kept = $"the calendar stays as it was ({Count(current.Days.Count)} days, {Day(current.Days.First)} to {Day(current.Days.Last)}, {current.Source})";
        var answer = answerTable is null ? [] : await TradingCalendar.ReadDaysAsync(connection, answerTable, ct);
        var days = new TradingDays(answer);
        if (days.Count == 0)
        {
            return $"refused to replace the trading calendar: the answer holds no trading day (column {TradingCalendar.Column}); {kept}";
        }

        if (days.Count < current.Days.Count * MinimumShare)
        {
            return $"refused to replace the trading calendar: the answer holds {Count(days.Count)} trading days ({Day(days.First)} to {Day(days.Last)}), " +
                $"far fewer than the {Count(current.Days.Count)} of the calendar it would replace (at least {MinimumShare * 100:0} % are required); {kept}";
        }

        return null;
    }

    private static string Count(int count) => count.ToString("N0", CultureInfo.InvariantCulture);

    private static string Day(DateOnly? day) => day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "-";
}
