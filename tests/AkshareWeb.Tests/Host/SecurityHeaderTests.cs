using System.Text;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

/// <summary>Headers every answer carries, and answers with tokens that no cache may keep.</summary>
public sealed class SecurityHeaderTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Theory]
    [InlineData("/api/auth/me")]
    [InlineData("/api/no-such-thing")]
    [InlineData("/health/live")]
    public async Task Every_answer_forbids_sniffing_and_referrers(string path)
    {
        var response = await app.CreateClient().GetAsync(path);
        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", string.Join(",", response.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task Token_answers_are_not_stored()
    {
        var client = app.CreateClient();
        var login = await client.PostAsync("/api/auth/login",
            new StringContent($$"""{"username":"admin","password":"{{AkshareWebApp.AdminPassword}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(200, (int)login.StatusCode);
        Assert.True(login.Headers.CacheControl?.NoStore, "login answered without Cache-Control: no-store");

        var refresh = Tokens.From(await login.ReadEnvelopeAsync()).RefreshToken;
        var refreshed = await client.PostAsync("/api/auth/refresh",
            new StringContent($$"""{"refresh_token":"{{refresh}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(200, (int)refreshed.StatusCode);
        Assert.True(refreshed.Headers.CacheControl?.NoStore, "refresh answered without Cache-Control: no-store");
    }
}
