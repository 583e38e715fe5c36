using System.Globalization;
using Cronos;

namespace AkshareWeb.Features.Tasks;

public static class ScheduleTypes
{
    public const string Cron = "cron";
    public const string Interval = "interval";
    public const string Once = "once";
    public static readonly string[] All = [Cron, Interval, Once];
}

/// <summary>Parses and evaluates the three kinds of schedule.</summary>
public static class ScheduleRules
{
    /// <summary>Null when valid; otherwise what is wrong, in words a user can act on.</summary>
    public static string? Problem(string type, string? expression, DateTime nowUtc, int minIntervalSeconds, TimeZoneInfo zone)
    {
        if (string.IsNullOrWhiteSpace(expression))
        {
            return "schedule_expression is required";
        }

        switch (type)
        {
            case ScheduleTypes.Cron:
                var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length != 5)
                {
                    return $"a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has {fields.Length}";
                }

                try
                {
                    CronExpression.Parse(expression, CronFormat.Standard);
                    return null;
                }
                catch (CronFormatException e)
                {
                    return "invalid cron expression: " + e.Message;
                }

            case ScheduleTypes.Interval:
                if (!int.TryParse(expression, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                {
                    return "an interval is a whole number of seconds";
                }

                return seconds < minIntervalSeconds ? $"the interval must be at least {minIntervalSeconds} seconds" : null;

            case ScheduleTypes.Once:
                if (!DateTimeOffset.TryParse(expression, CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
                    || !expression.Contains('T', StringComparison.Ordinal))
                {
                    return "a once schedule is an ISO 8601 date-time such as 2025-01-02T15:00:00+08:00 (without an offset it is read in the scheduler's time zone)";
                }

                return OnceAtUtc(expression, zone) <= nowUtc ? "the date-time of a once schedule must be in the future" : null;

            default:
                return "schedule_type must be cron, interval or once";
        }
    }

    public static int IntervalSeconds(string expression) => int.Parse(expression, CultureInfo.InvariantCulture);

    /// <summary>A once schedule without an offset is read in the scheduler's zone.</summary>
    public static DateTime OnceAtUtc(string expression, TimeZoneInfo zone)
    {
        var parsed = DateTimeOffset.Parse(expression, CultureInfo.InvariantCulture, DateTimeStyles.None);
        var hasOffset = expression.EndsWith('Z') || System.Text.RegularExpressions.Regex.IsMatch(expression, @"[+-]\d{2}:?\d{2}$");
        return hasOffset ? parsed.UtcDateTime : TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(parsed.DateTime, DateTimeKind.Unspecified), zone);
    }

    /// <summary>The next time the task fires after <paramref name="nowUtc"/>, or null when it never will.</summary>
    public static DateTime? NextUtc(string type, string expression, TimeZoneInfo zone, DateTime nowUtc, DateTime? nextDueUtc)
    {
        switch (type)
        {
            case ScheduleTypes.Cron:
                return CronExpression.Parse(expression, CronFormat.Standard).GetNextOccurrence(DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc), zone);
            case ScheduleTypes.Interval:
                return nextDueUtc;
            case ScheduleTypes.Once:
                var at = OnceAtUtc(expression, zone);
                return at > nowUtc ? at : null;
            default:
                return null;
        }
    }

    /// <summary>A cron expression's fire times after <paramref name="nowUtc"/>, in order, for as long as they are read.</summary>
    public static IEnumerable<DateTime> Occurrences(string expression, TimeZoneInfo zone, DateTime nowUtc)
    {
        var cron = CronExpression.Parse(expression, CronFormat.Standard);
        var from = DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc);
        while (cron.GetNextOccurrence(from, zone) is { } next)
        {
            yield return next;
            from = next;
        }
    }

    public static TimeZoneInfo Zone(string id) => TimeZoneInfo.FindSystemTimeZoneById(id);

    /// <summary>
    /// The shortest time between two runs of a schedule, or null for a once task. A cron expression is walked
    /// over the coming year (its gaps can differ by day, month or daylight saving time), stopping at the first
    /// gap shorter than <paramref name="atLeast"/>, since only the answer "shorter than that" matters.
    /// </summary>
    public static TimeSpan? ShortestGap(string type, string expression, TimeZoneInfo zone, DateTime nowUtc, TimeSpan atLeast)
    {
        switch (type)
        {
            case ScheduleTypes.Interval:
                return TimeSpan.FromSeconds(IntervalSeconds(expression));
            case ScheduleTypes.Cron:
                var cron = CronExpression.Parse(expression, CronFormat.Standard);
                var from = DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc);
                DateTime? previous = null;
                TimeSpan? shortest = null;
                foreach (var next in cron.GetOccurrences(from, from.AddDays(366), zone))
                {
                    if (previous is { } p && (shortest is null || next - p < shortest))
                    {
                        shortest = next - p;
                        if (shortest < atLeast) break;
                    }

                    previous = next;
                }

                return shortest;
            default:
                return null;
        }
    }

    /// <summary>The cron occurrence a fire at <paramref name="nowUtc"/> belongs to: the latest one not after it.</summary>
    public static DateTime? LatestCronOccurrenceUtc(string expression, TimeZoneInfo zone, DateTime nowUtc)
    {
        var cron = CronExpression.Parse(expression, CronFormat.Standard);
        var now = DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc);
        return cron.GetOccurrences(now.AddDays(-32), now, zone, fromInclusive: true, toInclusive: true).LastOrDefault() is { } last && last != default
            ? last
            : null;
    }
}
