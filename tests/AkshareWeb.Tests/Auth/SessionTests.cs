using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Auth;

public sealed class SessionTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private async Task<Tokens> RefreshAsync(string refreshToken, int status = 200, int code = 0)
    {
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = refreshToken });
        var body = await response.ExpectAsync(status, code);
        return status == 200 ? Tokens.From(body) : new Tokens("", "");
    }

    [Fact]
    public async Task Refresh_rotates_the_refresh_token_and_issues_a_working_access_token()
    {
        var (_, _, first) = await app.NewUserAsync();
        var second = await RefreshAsync(first.RefreshToken);

        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        Assert.NotEqual(first.AccessToken, second.AccessToken);
        await (await app.CreateClient().WithToken(second.AccessToken).GetAsync("/api/auth/me")).ExpectAsync(200, 0);
        var third = await RefreshAsync(second.RefreshToken);
        Assert.NotEqual(second.RefreshToken, third.RefreshToken);
    }

    [Fact]
    public async Task Reusing_a_refresh_token_revokes_the_whole_family()
    {
        var (_, _, first) = await app.NewUserAsync();
        var second = await RefreshAsync(first.RefreshToken);

        // The first token again: someone copied it. Everything of that session dies.
        await RefreshAsync(first.RefreshToken, 401, 1001);
        await RefreshAsync(second.RefreshToken, 401, 1001);
        await (await app.CreateClient().WithToken(second.AccessToken).GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task Garbage_or_missing_refresh_tokens_are_refused()
    {
        await RefreshAsync("no-such-token", 401, 1001);
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { });
        await response.ExpectAsync(422, 3001);
    }

    [Fact]
    public async Task Logout_makes_the_access_and_refresh_tokens_unusable_at_once_on_every_instance()
    {
        var (client, username, tokens) = await app.NewUserAsync();
        await using var other = await app.SecondInstanceAsync();
        await (await other.CreateClient().WithToken(tokens.AccessToken).GetAsync("/api/auth/me")).ExpectAsync(200, 0);
        var otherLogin = await app.CreateClient().LoginAsync(username, "password-123");

        await (await client.PostAsync("/api/auth/logout", null)).ExpectAsync(200, 0);

        await (await app.CreateClient().WithToken(tokens.AccessToken).GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
        await (await other.CreateClient().WithToken(tokens.AccessToken).GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
        await RefreshAsync(tokens.RefreshToken, 401, 1001);
        // Another login of the same user is another session and stays valid.
        await (await app.CreateClient().WithToken(otherLogin.AccessToken).GetAsync("/api/auth/me")).ExpectAsync(200, 0);
    }

    [Fact]
    public async Task Logout_without_a_token_is_401()
    {
        await (await app.CreateClient().PostAsync("/api/auth/logout", null)).ExpectAsync(401, 1001);
    }
}
