using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AkshareWeb.Tests.Auth;

/// <summary>
/// A browser session keeps its refresh token in an HttpOnly cookie that only the refresh route receives; the
/// body-based refresh of API clients is unchanged beside it.
/// </summary>
public sealed class RefreshCookieTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private HttpClient Bare(string scheme = "http") =>
        app.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false, BaseAddress = new Uri($"{scheme}://localhost") });

    private static string RefreshCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Single(v => v.StartsWith("akshareweb_refresh=", StringComparison.Ordinal))
            : throw new Xunit.Sdk.XunitException($"no Set-Cookie in the answer ({(int)response.StatusCode})");

    private static string Value(string setCookie) => setCookie.Split(';')[0]["akshareweb_refresh=".Length..];

    private static async Task<HttpResponseMessage> RefreshWithCookieAsync(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/refresh") { Content = JsonContent.Create(new { }) };
        request.Headers.Add("Cookie", "akshareweb_refresh=" + token);
        return await client.SendAsync(request);
    }

    private async Task<(string Cookie, JsonNode Body)> SignInAsync(HttpClient client, string scheme = "http")
    {
        var (_, username, _) = await app.NewUserAsync();
        var response = await client.PostAsJsonAsync("/api/auth/login", new { username, password = "password-123", refresh_cookie = true });
        var body = await response.ExpectAsync(200, 0);
        return (RefreshCookie(response), body);
    }

    [Fact]
    public async Task A_sign_in_asking_for_the_cookie_gets_an_HttpOnly_strict_cookie_for_the_refresh_route_and_no_refresh_token_in_the_body()
    {
        var (cookie, body) = await SignInAsync(Bare());

        Assert.Equal("", body["data"]!["refresh_token"]!.GetValue<string>());
        Assert.NotEmpty(body["data"]!["access_token"]!.GetValue<string>());
        var attributes = cookie.ToLowerInvariant();
        Assert.Contains("path=/api/auth/refresh", attributes, StringComparison.Ordinal);
        Assert.Contains("httponly", attributes, StringComparison.Ordinal);
        Assert.Contains("samesite=strict", attributes, StringComparison.Ordinal);
        Assert.Contains("max-age=1209600", attributes, StringComparison.Ordinal);
        Assert.DoesNotContain("secure", attributes, StringComparison.Ordinal);
        Assert.True(Value(cookie).Length >= 40, cookie);
    }

    [Fact]
    public async Task Over_https_the_cookie_is_secure()
    {
        var (cookie, _) = await SignInAsync(Bare("https"), "https");
        Assert.Contains("secure", cookie.ToLowerInvariant(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refreshing_with_the_cookie_answers_a_working_access_token_and_rotates_the_cookie()
    {
        var client = Bare();
        var (cookie, _) = await SignInAsync(client);

        var refreshed = await RefreshWithCookieAsync(client, Value(cookie));
        var body = await refreshed.ExpectAsync(200, 0);
        Assert.Equal("", body["data"]!["refresh_token"]!.GetValue<string>());
        var next = RefreshCookie(refreshed);
        Assert.NotEqual(Value(cookie), Value(next));
        Assert.Contains("httponly", next.ToLowerInvariant(), StringComparison.Ordinal);
        var access = body["data"]!["access_token"]!.GetValue<string>();
        await (await app.CreateClient().WithToken(access).GetAsync("/api/auth/me")).ExpectAsync(200, 0);

        // The rotated cookie works once more; the first one sent again is a stolen copy: the session ends.
        await (await RefreshWithCookieAsync(client, Value(next))).ExpectAsync(200, 0);
        await (await RefreshWithCookieAsync(client, Value(cookie))).ExpectAsync(401, 1001);
        await (await app.CreateClient().WithToken(access).GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task A_browser_keeps_the_cookie_and_sends_it_to_the_refresh_route_only()
    {
        // The factory's default client keeps cookies as a browser does, honouring their path.
        var client = app.CreateClient();
        var (_, username, _) = await app.NewUserAsync();
        await (await client.PostAsJsonAsync("/api/auth/login", new { username, password = "password-123", refresh_cookie = true })).ExpectAsync(200, 0);

        var first = await (await client.PostAsJsonAsync("/api/auth/refresh", new { })).ExpectAsync(200, 0);
        var second = await (await client.PostAsJsonAsync("/api/auth/refresh", new { })).ExpectAsync(200, 0);
        Assert.NotEqual(first["data"]!["access_token"]!.GetValue<string>(), second["data"]!["access_token"]!.GetValue<string>());
        // Nothing else is authenticated by the cookie: without a bearer token /me is 401.
        await (await client.GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task Logout_ends_the_session_and_removes_the_cookie()
    {
        var client = Bare();
        var (cookie, body) = await SignInAsync(client);
        var access = body["data"]!["access_token"]!.GetValue<string>();

        var logout = await app.CreateClient().WithToken(access).PostAsync("/api/auth/logout", null);
        await logout.ExpectAsync(200, 0);
        var removal = RefreshCookie(logout).ToLowerInvariant();
        Assert.Contains("expires=thu, 01 jan 1970", removal, StringComparison.Ordinal);
        Assert.Contains("path=/api/auth/refresh", removal, StringComparison.Ordinal);
        await (await RefreshWithCookieAsync(client, Value(cookie))).ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task Registering_with_the_cookie_signs_in_the_same_way()
    {
        var username = "rc" + Guid.NewGuid().ToString("N")[..10];
        var response = await Bare().PostAsJsonAsync("/api/auth/register", new
        {
            username, email = username + "@example.com", password = "password-123", password_confirm = "password-123", refresh_cookie = true,
        });
        var body = await response.ExpectAsync(201, 0);
        Assert.Equal("", body["data"]!["refresh_token"]!.GetValue<string>());
        await (await RefreshWithCookieAsync(Bare(), Value(RefreshCookie(response)))).ExpectAsync(200, 0);
    }

    [Fact]
    public async Task Api_clients_keep_the_body_refresh_and_get_no_cookie()
    {
        var client = Bare();
        var (_, username, _) = await app.NewUserAsync();
        var login = await client.PostAsJsonAsync("/api/auth/login", new { username, password = "password-123" });
        var tokens = Tokens.From(await login.ExpectAsync(200, 0));
        Assert.False(login.Headers.Contains("Set-Cookie"));

        var refreshed = await client.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = tokens.RefreshToken });
        var next = Tokens.From(await refreshed.ExpectAsync(200, 0));
        Assert.NotEmpty(next.RefreshToken);
        Assert.False(refreshed.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_token_in_the_body_wins_over_a_cookie()
    {
        var client = Bare();
        var (cookie, _) = await SignInAsync(client);
        var (_, username, _) = await app.NewUserAsync();
        var other = await client.LoginAsync(username, "password-123");

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/refresh") { Content = JsonContent.Create(new { refresh_token = other.RefreshToken }) };
        request.Headers.Add("Cookie", "akshareweb_refresh=" + Value(cookie));
        var answer = await client.SendAsync(request);
        Assert.NotEmpty(Tokens.From(await answer.ExpectAsync(200, 0)).RefreshToken);
        // The cookie's session was not touched: its token still refreshes once.
        await (await RefreshWithCookieAsync(client, Value(cookie))).ExpectAsync(200, 0);
    }
}
