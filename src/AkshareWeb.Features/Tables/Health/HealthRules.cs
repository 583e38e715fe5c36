using System.Globalization;
using AkshareWeb.Features.Calendar;

namespace AkshareWeb.Features.Tables;

/// <summary>One finding: a key's row on a day broke a rule in a column (AKShare's name) with this value (as text; null
/// for a missing price); <c>compared_with</c> is what it was compared with: the close before for a move, the low for a high below it, low..high for a price outside them.</summary>
public sealed record HealthFinding(IReadOnlyDictionary<string, object?> Key, string Date, string Rule, string? Column, string? Value, string? ComparedWith);

/// <summary>A row the database singled out: its key, day, bar values and the close of the key's row before it.</summary>
public sealed record HealthCandidate(object?[] Key, DateTime Day, double? Open, double? High, double? Low, double? Close, double? Volume, double? PreviousClose);

/// <summary>
/// The rules, and the judging of the rows the SQL (<see cref="HealthQuery"/>) singled out: the database finds the rows
/// that may break one, this says which they break, with the calendar and today at hand.
/// </summary>
public static class HealthRules
{
    public const string MissingPrice = "missing_price";
    public const string NonPositivePrice = "non_positive_price";
    public const string HighBelowLow = "high_below_low";
    public const string OutsideRange = "outside_range";
    public const string LargeMove = "large_move";
    public const string ZeroVolume = "zero_volume";
    public const string FutureDate = "future_date";
    public const string NonTradingDay = "non_trading_day";

    public static readonly IReadOnlyList<string> All = [MissingPrice, NonPositivePrice, HighBelowLow, OutsideRange, LargeMove, ZeroVolume, FutureDate, NonTradingDay];

    /// <summary>What the judging needs besides the row: the calendar, today (market time), the move limit, whether zero
    /// volume counts (bars of a day or longer; a minute bar may trade nothing) and the days whose move is explained.</summary>
    public sealed record Context(TradingDays Days, DateOnly Today, double MoveLimit, bool DailyBars, Func<string, DateOnly, bool> MoveExplained);

    public static IEnumerable<HealthFinding> Judge(HealthShape shape, HealthCandidate row, string keyJson, Context context)
    {
        var bars = shape.Bars;
        var coverage = shape.Coverage;
        var key = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < coverage.KeyColumns.Count; i++) key[coverage.KeyColumns[i].OriginalName] = row.Key[i];
        var date = Text(row.Day, coverage.DateColumn.Type);
        var day = DateOnly.FromDateTime(row.Day);
        HealthFinding Found(string rule, TableColumn? column, string? value, string? comparedWith = null) => new(key, date, rule, column?.OriginalName, value, comparedWith);

        var prices = new (TableColumn? Column, double? Value)[] { (bars.Open, row.Open), (bars.High, row.High), (bars.Low, row.Low), (bars.Close, row.Close) };
        foreach (var (column, value) in prices)
        {
            if (column is null) continue;
            if (value is null || double.IsNaN(value.Value)) yield return Found(MissingPrice, column, null);
            else if (value <= 0) yield return Found(NonPositivePrice, column, Number(value));
        }

        var highBelowLow = row.High is { } h && row.Low is { } l && h < l;
        if (highBelowLow) yield return Found(HighBelowLow, bars.High, Number(row.High), Number(row.Low));
        else if (row.High is { } high && row.Low is { } low)
        {
            // With high below low every price is outside the range: that row is one finding, not three.
            foreach (var (column, value) in new[] { (bars.Open, row.Open), (bars.Close, row.Close) })
            {
                if (column is not null && value is { } v && (v < low || v > high)) yield return Found(OutsideRange, column, Number(v), $"{Number(low)}..{Number(high)}");
            }
        }

        if (row.Close is { } close && row.PreviousClose is { } before && close > 0 && before > 0 && Math.Abs(close / before - 1) > context.MoveLimit
            && !context.MoveExplained(keyJson, day))
        {
            yield return Found(LargeMove, bars.Close, Number(close), Number(before));
        }

        var trading = context.Days.Contains(day);
        var judged = context.Days is { First: { } first, Last: { } last } && day >= first && day <= last;
        if (bars.Volume is not null && context.DailyBars && row.Volume == 0 && trading) yield return Found(ZeroVolume, bars.Volume, "0");
        if (day > context.Today) yield return Found(FutureDate, coverage.DateColumn, date);
        if (judged && !trading) yield return Found(NonTradingDay, coverage.DateColumn, date);
    }

    public static string Text(DateTime day, string type) =>
        type == "DATE" ? day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : day.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);
}
