using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// A reverse proxy on this host that nobody named in ForwardedHeaders:KnownProxies: every request it passes on
/// comes from loopback. Each test's clients have addresses of their own, so one test's counters never reach another.
/// </summary>
public sealed class UntrustedLocalProxyApp : AkshareWebApp
{
    public UntrustedLocalProxyApp()
    {
        Set("RateLimits:LoginFailuresPerAccountAndAddress", "3");
        Set("RateLimits:AuthAttemptsPerAddress", "8");
    }
}

public sealed class UntrustedLocalProxyTests(UntrustedLocalProxyApp app) : IClassFixture<UntrustedLocalProxyApp>
{
    private const string Warning = "ForwardedHeaders:KnownProxies does not name";

    private static Dictionary<string, string> Via(string header, string value, string? token = null)
    {
        var headers = new Dictionary<string, string> { [header] = value };
        if (token is not null) headers["Authorization"] = "Bearer " + token;
        return headers;
    }

    private Task<AddressedAnswer> LoginViaProxyAsync(string client, string username, string password) =>
        app.SendFromAsync("127.0.0.1", "POST", "/api/auth/login", new { username, password }, Via("X-Forwarded-For", client));

    [Fact]
    public async Task Metrics_through_the_proxy_are_not_open_as_they_are_to_this_host_itself()
    {
        Assert.Equal(200, (await app.SendFromAsync("127.0.0.1", "GET", "/metrics")).Status);
        Assert.Equal(200, (await app.SendFromAsync("::1", "GET", "/metrics")).Status);

        foreach (var (header, value) in new[]
        {
            ("X-Forwarded-For", "203.0.113.10"), ("X-Forwarded-For", "198.51.100.1, 203.0.113.11"),
            ("Forwarded", "for=203.0.113.12;proto=https"), ("Forwarded", "for=\"[2001:db8::12]:4711\""), ("X-Real-IP", "203.0.113.13"),
        })
        {
            foreach (var loopback in new[] { "127.0.0.1", "::1" })
            {
                var answer = await app.SendFromAsync(loopback, "GET", "/metrics", null, Via(header, value));
                Assert.True(answer.Status == 401, $"{header}: {value} from {loopback} answered {answer.Status}");
                Assert.Equal(1001, answer.Body!["code"]!.GetValue<int>());
            }
        }

        // A signed-in user through the proxy is a user, not this host: 403; an admin reads them.
        var (_, _, user) = await app.NewUserAsync();
        Assert.Equal(403, (await app.SendFromAsync("127.0.0.1", "GET", "/metrics", null, Via("X-Forwarded-For", "203.0.113.14", user.AccessToken))).Status);
        var admin = await app.CreateClient().LoginAsync("admin", AkshareWebApp.AdminPassword);
        Assert.Equal(200, (await app.SendFromAsync("127.0.0.1", "GET", "/metrics", null, Via("X-Forwarded-For", "203.0.113.15", admin.AccessToken))).Status);
    }

    [Fact]
    public async Task A_strangers_failed_logins_through_the_proxy_lock_out_neither_the_admin_nor_other_clients()
    {
        var statuses = new List<int>();
        for (var i = 0; i < 4; i++) statuses.Add((await LoginViaProxyAsync("203.0.113.66", "admin", "guess-" + i)).Status);
        Assert.Equal([401, 401, 401, 429], statuses);

        // The admin, behind the same proxy from another address, and a process on this host, still get in.
        Assert.Equal(200, (await LoginViaProxyAsync("198.51.100.67", "admin", AkshareWebApp.AdminPassword)).Status);
        Assert.Equal(200, (await app.LoginFromAsync("127.0.0.1", "admin", AkshareWebApp.AdminPassword)).Status);
    }

    [Fact]
    public async Task The_limit_on_auth_attempts_is_per_client_behind_the_proxy()
    {
        var statuses = new List<int>();
        for (var i = 0; i < 9; i++) statuses.Add((await LoginViaProxyAsync("203.0.113.70", "nobody-" + i, "x-password")).Status);
        Assert.Equal(Enumerable.Repeat(401, 8).Append(429), statuses);

        Assert.Equal(401, (await LoginViaProxyAsync("203.0.113.71", "nobody-9", "x-password")).Status);
        Assert.Equal(401, (await app.SendFromAsync("127.0.0.1", "POST", "/api/auth/login", new { username = "nobody-10", password = "x-password" },
            Via("X-Real-IP", "203.0.113.72"))).Status);
    }

    [Fact]
    public async Task The_operator_is_told_once_that_the_proxy_needs_configuring()
    {
        for (var i = 0; i < 3; i++) await app.SendFromAsync("127.0.0.1", "GET", "/health/live", null, Via("X-Forwarded-For", "203.0.113.80"));
        await app.SendFromAsync("::1", "GET", "/health/live", null, Via("Forwarded", "for=203.0.113.81"));

        var line = Assert.Single(app.Logs.Lines, l => l.Contains(Warning, StringComparison.Ordinal));
        Assert.Contains("AKSHAREWEB__ForwardedHeaders__KnownProxies=127.0.0.1", line, StringComparison.Ordinal);
    }
}

/// <summary>The proxy named by one loopback address; it may connect over the other.</summary>
public abstract class NamedLoopbackProxyApp : AkshareWebApp
{
    protected NamedLoopbackProxyApp(string named) => Set("ForwardedHeaders:KnownProxies", named);
}

public sealed class ProxyNamedAsIpv4App() : NamedLoopbackProxyApp("127.0.0.1");

public sealed class ProxyNamedAsIpv6App() : NamedLoopbackProxyApp("::1");

public abstract class NamedLoopbackProxyTests(AkshareWebApp app)
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task The_proxy_is_believed_over_either_loopback_address(string from)
    {
        var admin = await app.CreateClient().LoginAsync("admin", AkshareWebApp.AdminPassword);
        var answer = await app.SendFromAsync(from, "POST", "/api/auth/dashboard-session", null, new Dictionary<string, string>
        {
            ["Authorization"] = "Bearer " + admin.AccessToken,
            ["X-Forwarded-For"] = "198.51.100.90",
            ["X-Forwarded-Proto"] = "https",
        });
        Assert.Equal(200, answer.Status);
        // X-Forwarded-Proto is believed only from a trusted proxy: the cookie is Secure.
        Assert.Contains("secure", answer.Headers.SetCookie.ToString().ToLowerInvariant(), StringComparison.Ordinal);

        // Its client is that client, not this host: no /metrics without a token, and no warning about the proxy.
        Assert.Equal(401, (await app.SendFromAsync(from, "GET", "/metrics", null, new Dictionary<string, string> { ["X-Forwarded-For"] = "198.51.100.91" })).Status);
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("KnownProxies does not name", StringComparison.Ordinal));
    }
}

public sealed class ProxyNamedAsIpv4Tests(ProxyNamedAsIpv4App app) : NamedLoopbackProxyTests(app), IClassFixture<ProxyNamedAsIpv4App>;

public sealed class ProxyNamedAsIpv6Tests(ProxyNamedAsIpv6App app) : NamedLoopbackProxyTests(app), IClassFixture<ProxyNamedAsIpv6App>;
