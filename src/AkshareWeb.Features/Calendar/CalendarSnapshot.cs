using System.Globalization;

namespace AkshareWeb.Features.Calendar;

/// <summary>
/// The trading calendar bundled with the service (TradingDays.txt, an embedded resource written by
/// tools/trading-calendar/derive.mjs): derived from public-holiday and exchange-closure facts, since no build machine
/// reaches Sina. Its header names what it was derived from; that is the calendar's source until a run of the
/// tool_trade_date_hist_sina script replaces it.
/// </summary>
public static class CalendarSnapshot
{
    public const string ResourceName = "AkshareWeb.Features.Calendar.TradingDays.txt";

    private static readonly Lazy<(TradingDays Days, string Source)> Loaded = new(Load);

    public static TradingDays Days => Loaded.Value.Days;

    public static string Source => Loaded.Value.Source;

    private static (TradingDays, string) Load()
    {
        using var stream = typeof(CalendarSnapshot).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the bundled trading calendar {ResourceName} is missing from the build");
        using var reader = new StreamReader(stream);
        var source = "derived";
        var days = new List<DateOnly>(9_000);
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith("# source: ", StringComparison.Ordinal)) source = line["# source: ".Length..].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            days.Add(DateOnly.ParseExact(line, "yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        return (new TradingDays(days), source);
    }
}
