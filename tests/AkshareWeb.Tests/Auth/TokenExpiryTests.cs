using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AkshareWeb.Tests.Auth;

public sealed class FakeClockApp : AkshareWebApp
{
    public FakeClockApp() => Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
}

public sealed class TokenExpiryTests(FakeClockApp app) : IClassFixture<FakeClockApp>
{
    [Fact]
    public async Task An_access_token_works_for_1800_seconds_then_answers_401_1002()
    {
        var (client, _, _) = await app.NewUserAsync();
        await (await client.GetAsync("/api/auth/me")).ExpectAsync(200, 0);

        app.Clock!.Advance(TimeSpan.FromSeconds(1799));
        await (await client.GetAsync("/api/auth/me")).ExpectAsync(200, 0);

        app.Clock.Advance(TimeSpan.FromSeconds(2));
        var expired = await (await client.GetAsync("/api/auth/me")).ExpectAsync(401, 1002);
        Assert.Contains("expired", expired["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_access_token_is_renewed_with_the_refresh_token_until_that_expires()
    {
        var (_, _, tokens) = await app.NewUserAsync();
        app.Clock!.Advance(TimeSpan.FromHours(1));
        var renewed = await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = tokens.RefreshToken });
        var fresh = Tokens.From(await renewed.ExpectAsync(200, 0));
        await (await app.CreateClient().WithToken(fresh.AccessToken).GetAsync("/api/auth/me")).ExpectAsync(200, 0);

        app.Clock.Advance(TimeSpan.FromDays(15));
        var late = await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = fresh.RefreshToken });
        await late.ExpectAsync(401, 1002);
    }
}
