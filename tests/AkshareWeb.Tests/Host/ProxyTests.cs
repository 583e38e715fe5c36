using System.Net.Http.Json;
using System.Text.RegularExpressions;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

public sealed class ProxiedApp : AkshareWebApp
{
    public ProxiedApp()
    {
        Set("ForwardedHeaders:KnownProxies:0", "10.0.0.1");
        Set("ForwardedHeaders:KnownNetworks:0", "10.1.0.0/16");
        Set("RateLimits:LoginFailuresPerAccountAndAddress", "3");
    }
}

public sealed class ProxyTests(ProxiedApp app) : IClassFixture<ProxiedApp>
{
    private static Dictionary<string, string> Forwarded(string client, string? proto = null)
    {
        var headers = new Dictionary<string, string> { ["X-Forwarded-For"] = client };
        if (proto is not null) headers["X-Forwarded-Proto"] = proto;
        return headers;
    }

    private Task<AddressedAnswer> LoginAsync(string from, string username, string password, string forwardedFor) =>
        app.SendFromAsync(from, "POST", "/api/auth/login", new { username, password }, Forwarded(forwardedFor));

    [Fact]
    public async Task A_known_proxy_names_the_client_and_anyone_else_is_counted_by_their_own_address()
    {
        var (_, user, _) = await app.NewUserAsync();
        for (var i = 0; i < 3; i++) Assert.Equal(401, (await LoginAsync("10.0.0.1", user, "guess", "198.51.100.1")).Status);
        Assert.Equal(429, (await LoginAsync("10.0.0.1", user, "guess", "198.51.100.1")).Status);
        // Another client behind the same proxy is another address.
        Assert.Equal(401, (await LoginAsync("10.0.0.1", user, "guess", "198.51.100.2")).Status);
        // A proxy inside a known network is believed as well.
        Assert.Equal(401, (await LoginAsync("10.1.7.7", user, "guess", "198.51.100.3")).Status);

        // Not a known proxy: X-Forwarded-For is ignored, so a new value per request buys no new guesses.
        var (_, other, _) = await app.NewUserAsync();
        var statuses = new List<int>();
        for (var i = 0; i < 4; i++) statuses.Add((await LoginAsync("192.0.2.50", other, "guess", $"203.0.113.{i}")).Status);
        Assert.Equal([401, 401, 401, 429], statuses);
    }

    [Fact]
    public async Task The_dashboard_cookie_is_secure_when_the_original_request_was_https_and_stays_samesite_strict()
    {
        var admin = await app.CreateClient().LoginAsync("admin", AkshareWebApp.AdminPassword);
        var bearer = new Dictionary<string, string> { ["Authorization"] = "Bearer " + admin.AccessToken };

        var viaProxy = await app.SendFromAsync("10.1.0.9", "POST", "/api/auth/dashboard-session", null,
            new Dictionary<string, string>(bearer) { ["X-Forwarded-Proto"] = "https", ["X-Forwarded-For"] = "198.51.100.4" });
        Assert.Equal(200, viaProxy.Status);
        var cookie = viaProxy.Headers.SetCookie.ToString().ToLowerInvariant();
        Assert.Contains("secure", cookie, StringComparison.Ordinal);
        Assert.Contains("samesite=strict", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.Ordinal);

        // The same claim from anyone else is ignored: the request was plain HTTP.
        var spoofed = await app.SendFromAsync("192.0.2.51", "POST", "/api/auth/dashboard-session", null,
            new Dictionary<string, string>(bearer) { ["X-Forwarded-Proto"] = "https" });
        Assert.Equal(200, spoofed.Status);
        Assert.DoesNotContain("secure", spoofed.Headers.SetCookie.ToString().ToLowerInvariant(), StringComparison.Ordinal);
    }
}

/// <summary>With no proxy configured, not even loopback (the framework's own default) is believed.</summary>
public sealed class NoProxyTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task Forwarded_headers_are_ignored_from_everyone_by_default()
    {
        var admin = await app.CreateClient().LoginAsync("admin", AkshareWebApp.AdminPassword);
        var answer = await app.SendFromAsync("127.0.0.1", "POST", "/api/auth/dashboard-session", null, new Dictionary<string, string>
        {
            ["Authorization"] = "Bearer " + admin.AccessToken,
            ["X-Forwarded-Proto"] = "https",
            ["X-Forwarded-For"] = "198.51.100.5",
        });
        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain("secure", answer.Headers.SetCookie.ToString().ToLowerInvariant(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dashboards_post_actions_need_the_antiforgery_token_of_its_pages()
    {
        var client = app.CreateClient();
        var tokens = await client.LoginAsync("admin", AkshareWebApp.AdminPassword);
        client.WithToken(tokens.AccessToken);
        await (await client.PostAsync("/api/auth/dashboard-session", null)).ExpectAsync(200, 0);
        client.DefaultRequestHeaders.Authorization = null;

        var page = await client.GetAsync("/hangfire/recurring");
        Assert.Equal(200, (int)page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();

        var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("jobs[]", "no-such-job")]);
        var forged = await client.PostAsync("/hangfire/recurring/trigger", form);
        Assert.Equal(403, (int)forged.StatusCode);

        var header = Regex.Match(html, "name=\"csrf-header\" content=\"([^\"]+)\"");
        var token = Regex.Match(html, "name=\"csrf-token\" content=\"([^\"]+)\"");
        Assert.True(header.Success && token.Success, html[..Math.Min(html.Length, 3000)]);
        var request = new HttpRequestMessage(HttpMethod.Post, "/hangfire/recurring/trigger")
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("jobs[]", "no-such-job")]),
        };
        request.Headers.Add(header.Groups[1].Value, token.Groups[1].Value);
        var genuine = await client.SendAsync(request);
        Assert.NotEqual(403, (int)genuine.StatusCode);
        Assert.True((int)genuine.StatusCode < 500, $"{(int)genuine.StatusCode}");
    }
}
