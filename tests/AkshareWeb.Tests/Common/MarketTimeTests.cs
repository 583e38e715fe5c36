using AkshareWeb.Features.Common;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Tests.Common;

/// <summary>The one time-zone setting: which key wins, and that "today" of the parameter binder follows it.</summary>
public sealed class MarketTimeTests
{
    // 20:00 UTC on the 28th is already the 29th in Beijing.
    private static readonly DateTimeOffset Evening = new(2026, 11, 28, 20, 0, 0, TimeSpan.Zero);

    private static MarketTime Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSingleton<TimeProvider>(new FakeTimeProvider(Evening)).AddMarketTime(configuration);
        return services.BuildServiceProvider().GetRequiredService<MarketTime>();
    }

    [Fact]
    public void Beijing_time_unless_set()
    {
        var market = Build([]);
        Assert.Equal("Asia/Shanghai", market.ZoneId);
        Assert.Equal(new DateOnly(2026, 11, 29), market.Today);
    }

    [Fact]
    public void The_old_scheduler_key_is_still_read()
    {
        Assert.Equal("Europe/London", Build(new() { ["Scheduler:TimeZone"] = "Europe/London" }).ZoneId);
    }

    [Fact]
    public void The_market_key_wins_over_the_old_one()
    {
        var market = Build(new() { ["Market:TimeZone"] = "America/New_York", ["Scheduler:TimeZone"] = "Europe/London" });
        Assert.Equal("America/New_York", market.ZoneId);
        Assert.Equal(new DateOnly(2026, 11, 28), market.Today);
    }

    [Fact]
    public void Relative_dates_of_the_binder_are_resolved_in_the_configured_zone()
    {
        var beijing = new ParameterBinder(Build([]));
        var newYork = new ParameterBinder(Build(new() { ["Market:TimeZone"] = "America/New_York" }));
        Assert.Equal(new DateOnly(2026, 11, 29), beijing.Today);
        Assert.Equal(new DateOnly(2026, 11, 28), newYork.Today);
    }

    [Fact]
    public async Task An_unknown_zone_stops_the_start()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Market:TimeZone"] = "Mars/Olympus_Mons" });
        builder.Services.AddMarketTime(builder.Configuration);
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Market:TimeZone", error.Message, StringComparison.Ordinal);
    }
}
