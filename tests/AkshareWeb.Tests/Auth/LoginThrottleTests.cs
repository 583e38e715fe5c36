using System.Diagnostics;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Auth;

public sealed class LoginThrottleApp : AkshareWebApp
{
    public LoginThrottleApp()
    {
        Set("RateLimits:LoginFailuresPerAccountAndAddress", "3");
        Set("RateLimits:LoginFailureWindowSeconds", "60");
        Set("RateLimits:LoginAccountBrakeAfter", "6");
        Set("RateLimits:LoginAccountBrakeBaseMilliseconds", "200");
        Set("RateLimits:LoginAccountBrakeMaxMilliseconds", "400");
    }
}

/// <summary>Each test uses accounts of its own, so the counters of one do not reach another.</summary>
public sealed class LoginThrottleTests(LoginThrottleApp app) : IClassFixture<LoginThrottleApp>
{
    [Fact]
    public async Task Failures_from_one_address_block_that_address_only_and_the_owner_logs_in_from_another()
    {
        var (_, victim, _) = await app.NewUserAsync();
        var statuses = new List<int>();
        for (var i = 0; i < 5; i++) statuses.Add((await app.LoginFromAsync("198.51.100.7", victim, "guess-" + i)).Status);
        Assert.Equal([401, 401, 401, 429, 429], statuses);

        // From the guesser's address even the right password is refused now, with a Retry-After within the window.
        var blocked = await app.LoginFromAsync("198.51.100.7", victim, "password-123");
        Assert.Equal(429, blocked.Status);
        Assert.Equal(-1, blocked.Body!["code"]!.GetValue<int>());
        Assert.InRange(int.Parse(blocked.Headers.RetryAfter.ToString(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);

        // The owner, elsewhere, is not locked out.
        var owner = await app.LoginFromAsync("203.0.113.20", victim, "password-123");
        Assert.Equal(200, owner.Status);
        Assert.NotNull(owner.Body!["data"]!["access_token"]);
    }

    [Fact]
    public async Task Only_failures_count_so_repeated_good_logins_are_never_throttled()
    {
        var (_, user, _) = await app.NewUserAsync();
        for (var i = 0; i < 8; i++) Assert.Equal(200, (await app.LoginFromAsync("198.51.100.8", user, "password-123")).Status);

        // Two failures, then a success clears the pair: three more failures are needed before a 429.
        Assert.Equal(401, (await app.LoginFromAsync("198.51.100.8", user, "nope-1")).Status);
        Assert.Equal(401, (await app.LoginFromAsync("198.51.100.8", user, "nope-2")).Status);
        Assert.Equal(200, (await app.LoginFromAsync("198.51.100.8", user, "password-123")).Status);
        Assert.Equal(401, (await app.LoginFromAsync("198.51.100.8", user, "nope-3")).Status);
        Assert.Equal(401, (await app.LoginFromAsync("198.51.100.8", user, "nope-4")).Status);
        Assert.Equal(401, (await app.LoginFromAsync("198.51.100.8", user, "nope-5")).Status);
        Assert.Equal(429, (await app.LoginFromAsync("198.51.100.8", user, "nope-6")).Status);
    }

    [Fact]
    public async Task Spellings_of_one_account_share_its_counter()
    {
        var (_, user, _) = await app.NewUserAsync();
        // Trailing space, upper case and an accent all log into the same account (the column's collation folds
        // them), so they must not each get three fresh guesses.
        var spellings = new[] { user + " ", user.ToUpperInvariant(), "ú" + user[1..], user };
        Assert.Equal(200, (await app.LoginFromAsync("198.51.100.9", spellings[1], "password-123")).Status);
        Assert.Equal(200, (await app.LoginFromAsync("198.51.100.9", spellings[2], "password-123")).Status);

        var statuses = new List<int>();
        foreach (var name in spellings) statuses.Add((await app.LoginFromAsync("198.51.100.9", name, "wrong-password")).Status);
        Assert.Equal([401, 401, 401, 429], statuses);
    }

    [Fact]
    public async Task An_unknown_name_is_throttled_like_a_known_one()
    {
        var ghost = "nobody" + Guid.NewGuid().ToString("N")[..8];
        var probe = await app.LoginFromAsync("198.51.100.11", ghost, "x-password");
        Assert.True(probe.Status == 401, probe.Body?.ToJsonString());
        var statuses = new List<int>();
        foreach (var name in new[] { ghost, ghost.ToUpperInvariant(), " " + ghost + " ", ghost }) statuses.Add((await app.LoginFromAsync("198.51.100.10", name, "x-password")).Status);
        Assert.Equal([401, 401, 401, 429], statuses);
    }

    [Fact]
    public async Task An_ipv6_client_is_counted_per_64_not_per_address()
    {
        var (_, user, _) = await app.NewUserAsync();
        Assert.Equal(401, (await app.LoginFromAsync("2001:db8:aa:1::1", user, "wrong-1")).Status);
        Assert.Equal(401, (await app.LoginFromAsync("2001:db8:aa:1::2", user, "wrong-2")).Status);
        Assert.Equal(401, (await app.LoginFromAsync("2001:db8:aa:1:ffff::3", user, "wrong-3")).Status);
        // A fresh address inside the same /64 gets no fresh counter...
        Assert.Equal(429, (await app.LoginFromAsync("2001:db8:aa:1::4", user, "wrong-4")).Status);
        // ...another /64 does.
        Assert.Equal(200, (await app.LoginFromAsync("2001:db8:aa:2::1", user, "password-123")).Status);
    }

    [Fact]
    public async Task A_distributed_guess_slows_the_account_down_but_the_right_password_from_a_new_address_gets_in()
    {
        var (_, user, _) = await app.NewUserAsync();
        // Eight addresses, one failure each: no pair reaches its limit, but the account passes its brake (6).
        for (var i = 1; i <= 8; i++) Assert.Equal(401, (await app.LoginFromAsync($"192.0.2.{i}", user, "guess-" + i)).Status);

        var watch = Stopwatch.StartNew();
        var owner = await app.LoginFromAsync("203.0.113.77", user, "password-123");
        watch.Stop();
        Assert.Equal(200, owner.Status);
        // The brake is a delay, never a refusal: here 200 ms doubled per failure over 6, capped at 400 ms.
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(350), $"the brake delayed the login by {watch.ElapsedMilliseconds} ms");
    }
}

public sealed class LoginWindowApp : AkshareWebApp
{
    public LoginWindowApp()
    {
        Clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        Set("RateLimits:LoginFailuresPerAccountAndAddress", "3");
        Set("RateLimits:LoginFailureWindowSeconds", "120");
    }
}

public sealed class LoginWindowTests(LoginWindowApp app) : IClassFixture<LoginWindowApp>
{
    [Fact]
    public async Task A_blocked_pair_may_try_again_once_its_failures_have_left_the_window()
    {
        var (_, user, _) = await app.NewUserAsync();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(401, (await app.LoginFromAsync("198.51.100.30", user, "guess")).Status);
            app.Clock!.Advance(TimeSpan.FromSeconds(30));
        }

        // Failures at 0, 30 and 60 s; now 90 s: blocked until the first leaves the window at 120 s.
        var blocked = await app.LoginFromAsync("198.51.100.30", user, "password-123");
        Assert.Equal(429, blocked.Status);
        Assert.Equal("30", blocked.Headers.RetryAfter.ToString());

        app.Clock!.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(401, (await app.LoginFromAsync("198.51.100.30", user, "guess")).Status);
        Assert.Equal(429, (await app.LoginFromAsync("198.51.100.30", user, "password-123")).Status);
        app.Clock!.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(200, (await app.LoginFromAsync("198.51.100.30", user, "password-123")).Status);
    }
}
