using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Configuration section <c>Market</c>: the one time zone of the service's "today" and of its schedules, China's
/// markets' (Beijing time) unless set. <c>Market:TimeZone</c> wins; the older <c>Scheduler:TimeZone</c> is still
/// read when it is absent, so an existing deployment keeps its zone.
/// </summary>
public sealed class MarketTimeOptions
{
    public const string Section = "Market";
    public const string LegacyKey = "Scheduler:TimeZone";
    public const string DefaultZone = "Asia/Shanghai";

    /// <summary>An IANA zone id (Asia/Shanghai).</summary>
    public string TimeZone { get; set; } = DefaultZone;

    /// <summary>When a trading day's data counts as in, market time (HH:mm): the exchanges close at 15:00 and the
    /// day's bars settle shortly after. Before it, today is not yet expected in a table.</summary>
    public string CloseTime { get; set; } = DefaultCloseTime;

    public const string DefaultCloseTime = "15:30";
}

/// <summary>The market's time zone and today's date in it: relative dates, date defaults and cron schedules all
/// read the day from here, so they agree.</summary>
public sealed class MarketTime(IOptions<MarketTimeOptions> options, TimeProvider time)
{
    public string ZoneId { get; } = options.Value.TimeZone;

    public TimeZoneInfo Zone { get; } = TimeZoneInfo.FindSystemTimeZoneById(options.Value.TimeZone);

    public DateOnly Today => DateOnly.FromDateTime(Now);

    /// <summary>The wall-clock time in the market's zone.</summary>
    public DateTime Now => TimeZoneInfo.ConvertTimeFromUtc(time.GetUtcNow().UtcDateTime, Zone);

    /// <summary><see cref="MarketTimeOptions.CloseTime"/>.</summary>
    public TimeOnly CloseTime { get; } = TimeOnly.ParseExact(options.Value.CloseTime, ["H:mm", "HH:mm"], System.Globalization.CultureInfo.InvariantCulture);
}

public static class MarketTimeSetup
{
    /// <summary>Registers <see cref="MarketTime"/>; an unknown zone stops the service at start-up, not at the first run.</summary>
    public static IServiceCollection AddMarketTime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MarketTimeOptions>()
            .Configure(o =>
            {
                o.TimeZone = configuration[$"{MarketTimeOptions.Section}:TimeZone"] ?? configuration[MarketTimeOptions.LegacyKey] ?? MarketTimeOptions.DefaultZone;
                o.CloseTime = configuration[$"{MarketTimeOptions.Section}:CloseTime"] ?? MarketTimeOptions.DefaultCloseTime;
            })
            .Validate(o => TimeZoneInfo.TryFindSystemTimeZoneById(o.TimeZone, out _), "Market:TimeZone (or Scheduler:TimeZone) is not a time zone this machine knows")
            .Validate(o => TimeOnly.TryParseExact(o.CloseTime, ["H:mm", "HH:mm"], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _),
                "Market:CloseTime is not a time of day (HH:mm, e.g. 15:30)")
            .ValidateOnStart();
        services.AddSingleton<MarketTime>();
        return services;
    }
}
