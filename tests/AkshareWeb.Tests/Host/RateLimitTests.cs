using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

public sealed class LowLimitsApp : AkshareWebApp
{
    public const int WindowSeconds = 3;

    public LowLimitsApp()
    {
        Set("RateLimits:WindowSeconds", WindowSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Set("RateLimits:UserPerWindow", "5");
        Set("RateLimits:AdminPerWindow", "9");
        Set("RateLimits:AnonymousPerWindow", "10");
        Set("RateLimits:AuthAttemptsPerAddress", "1000");
    }
}

/// <summary>Each test waits for a fresh window first, so the counters of one test do not spill into another.</summary>
[Collection(nameof(RateLimitTests))]
public sealed class RateLimitTests(LowLimitsApp app) : IClassFixture<LowLimitsApp>
{
    private static async Task NextWindowAsync() => await Task.Delay(TimeSpan.FromSeconds(LowLimitsApp.WindowSeconds + 0.2));

    private static async Task<int> CountAcceptedAsync(Func<Task<HttpResponseMessage>> call, int attempts)
    {
        var accepted = 0;
        for (var i = 0; i < attempts; i++)
        {
            var response = await call();
            if ((int)response.StatusCode == 429)
            {
                var body = await response.ExpectAsync(429, -1);
                Assert.Contains("too many", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
                Assert.True(response.Headers.RetryAfter?.Delta is { } after && after > TimeSpan.Zero
                    && after <= TimeSpan.FromSeconds(LowLimitsApp.WindowSeconds), "Retry-After within the window");
            }
            else
            {
                accepted++;
            }
        }

        return accepted;
    }

    [Fact]
    public async Task Users_and_admins_each_get_their_own_limit_and_it_resets()
    {
        await NextWindowAsync();
        var (user, _, _) = await app.NewUserAsync();
        var admin = await app.AdminAsync();
        await NextWindowAsync();

        // A signed-in caller's window starts with their first request, so both counts fall in one window;
        // run at once, each is counted apart from the other.
        var counts = await Task.WhenAll(
            CountAcceptedAsync(() => user.GetAsync("/api/auth/me"), 8),
            CountAcceptedAsync(() => admin.GetAsync("/api/auth/me"), 12));
        Assert.Equal([5, 9], counts);

        await NextWindowAsync();
        await (await user.GetAsync("/api/auth/me")).ExpectAsync(200, 0);
    }
}

public sealed class AnonymousLimitApp : AkshareWebApp
{
    public AnonymousLimitApp()
    {
        Set("RateLimits:WindowSeconds", "3");
        Set("RateLimits:AnonymousPerWindow", "10");
    }
}

/// <summary>Anonymous callers share a partition per address; a fresh app makes these requests its first.</summary>
public sealed class AnonymousLimitTests(AnonymousLimitApp app) : IClassFixture<AnonymousLimitApp>
{
    [Fact]
    public async Task Anonymous_callers_are_limited_per_address()
    {
        var client = app.CreateClient();
        var statuses = new List<int>();
        for (var i = 0; i < 13; i++) statuses.Add((int)(await client.GetAsync("/api/auth/me")).StatusCode);
        Assert.Equal(10, statuses.Count(s => s == 401));
        Assert.Equal(3, statuses.Count(s => s == 429));
        Assert.Equal(200, (int)(await client.GetAsync("/health/live")).StatusCode); // outside /api: not limited
    }
}

public sealed class AuthAttemptLimitApp : AkshareWebApp
{
    public AuthAttemptLimitApp()
    {
        Set("RateLimits:WindowSeconds", "30");
        Set("RateLimits:AuthAttemptsPerAddress", "4");
    }
}

public sealed class AuthAttemptLimitTests(AuthAttemptLimitApp app) : IClassFixture<AuthAttemptLimitApp>
{
    [Fact]
    public async Task Login_and_register_attempts_from_one_address_share_a_strict_limit()
    {
        var client = app.CreateClient();
        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
            statuses.Add((int)(await client.PostAsJsonAsync("/api/auth/login", new { username = "someone" + i, password = "password-x" })).StatusCode);
        for (var i = 0; i < 2; i++)
            statuses.Add((int)(await client.PostAsJsonAsync("/api/auth/register", new { username = "x" })).StatusCode);

        Assert.Equal([401, 401, 401, 422, 429], statuses);
        var last = await client.PostAsJsonAsync("/api/auth/login", new { username = "a", password = "b" });
        await last.ExpectAsync(429, -1);
        Assert.NotNull(last.Headers.RetryAfter);
    }
}
