using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using AkshareWeb.Features.Notifications;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Notifications;

/// <summary>
/// DNS as the test says: each name answers what <see cref="Names"/> holds at the moment it is asked, so a test can
/// change a name's address between a channel's save and its delivery (DNS rebinding) without any network.
/// </summary>
public sealed class ScriptedResolver : HostResolver
{
    public ConcurrentDictionary<string, IPAddress[]> Names { get; } = new(StringComparer.OrdinalIgnoreCase);

    public override Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) =>
        Names.TryGetValue(host, out var addresses) ? Task.FromResult(addresses)
            : Task.FromException<IPAddress[]>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound));
}

/// <summary>The app as shipped (Notifications:AllowPrivateTargets false), with scripted DNS and AKTools at aktools.test.</summary>
public sealed class GuardedApp : AkshareWebApp
{
    public ScriptedResolver Dns { get; } = new();

    public GuardedApp()
    {
        Set("AkTools:BaseUrl", "http://aktools.test:8080");
        Dns.Names["aktools.test"] = [IPAddress.Parse("1.2.3.4")];
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.AddSingleton<HostResolver>(Dns));
    }
}

/// <summary>
/// No SSRF: a channel's URL or SMTP host that resolves to a loopback, private, link-local or otherwise internal
/// address, or to the AKTools host, is refused when saved and again when delivering; redirects are not followed.
/// </summary>
public sealed class TargetGuardTests(GuardedApp app, NotificationReceiver receiver) : IClassFixture<GuardedApp>, IClassFixture<NotificationReceiver>
{
    [Theory]
    [InlineData("http://127.0.0.1:8080/hook", "loopback")]
    [InlineData("http://127.1.2.3/hook", "loopback")]
    [InlineData("http://localhost:8080/hook", "loopback")]
    [InlineData("http://[::1]:8080/hook", "loopback")]
    [InlineData("http://[::ffff:127.0.0.1]/hook", "loopback")]
    [InlineData("http://[::ffff:10.0.0.1]/hook", "private")]
    [InlineData("http://0.0.0.0:8080/hook", "unspecified")]
    [InlineData("http://[::]/hook", "unspecified")]
    [InlineData("http://10.1.2.3/hook", "private")]
    [InlineData("http://172.20.0.1/hook", "private")]
    [InlineData("http://192.168.1.10/hook", "private")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    [InlineData("http://100.64.0.1/hook", "carrier-grade NAT")]
    [InlineData("http://[fd12:3456::1]/hook", "unique-local")]
    [InlineData("http://[fe80::1]/hook", "link-local")]
    [InlineData("http://[64:ff9b::a00:1]/hook", "private")]
    [InlineData("http://[2002:7f00:1::]/hook", "loopback")]
    [InlineData("http://224.0.0.1/hook", "multicast")]
    [InlineData("http://intranet.test/hook", "private")]
    [InlineData("http://half-inside.test/hook", "private")]
    [InlineData("http://1.2.3.4:8080/hook", "aktools.test")]
    [InlineData("http://aktools-alias.test/hook", "aktools.test")]
    public async Task A_url_that_reaches_inside_is_refused_when_saved(string url, string reason)
    {
        app.Dns.Names["localhost"] = [IPAddress.Loopback, IPAddress.IPv6Loopback];
        app.Dns.Names["intranet.test"] = [IPAddress.Parse("10.0.0.5")];
        app.Dns.Names["half-inside.test"] = [IPAddress.Parse("93.184.215.14"), IPAddress.Parse("192.168.0.7")];
        app.Dns.Names["aktools-alias.test"] = [IPAddress.Parse("1.2.3.4")];
        var (client, _, _) = await app.NewUserAsync();
        var error = await (await client.PostAsJsonAsync("/api/notifications/channels", new { name = "x", type = "webhook", url, events = new[] { "run_failed" } }))
            .ExpectAsync(422, 3001);
        var detail = Assert.Single(error["detail"]!.AsArray())!;
        Assert.Equal("url", detail["field"]!.GetValue<string>());
        Assert.Contains(reason, detail["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_smtp_host_inside_is_refused_and_a_public_target_is_taken()
    {
        var (client, _, _) = await app.NewUserAsync();
        var error = await (await client.PostAsJsonAsync("/api/notifications/channels", new
        {
            name = "mail", type = "email", events = new[] { "run_failed" },
            smtp = new { host = "127.0.0.1", port = 25, security = "starttls", from = "a@example.com", to = new[] { "b@example.com" } },
        })).ExpectAsync(422, 3001);
        Assert.Equal("smtp.host", error["detail"]![0]!["field"]!.GetValue<string>());
        Assert.Contains("Notifications:AllowPrivateTargets", error["detail"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        app.Dns.Names["hooks.example.test"] = [IPAddress.Parse("93.184.215.14"), IPAddress.Parse("2606:2800:21f:cb07:6820:80da:af6b:8b2c")];
        await client.CreateChannelAsync(new { name = "public", type = "webhook", url = "https://hooks.example.test/akshare", events = new[] { "run_failed" } });
        await client.CreateChannelAsync(new { name = "public ip", type = "slack", url = "https://93.184.215.14/services/T/B/X", events = new[] { "run_failed" } });
    }

    [Fact]
    public async Task A_name_that_resolves_inside_by_delivery_time_is_refused_then_and_nothing_is_sent()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.Dns.Names["rebind.test"] = [IPAddress.Parse("93.184.215.14")];
        var id = await client.WebhookAsync($"http://rebind.test:{receiver.Port}/hook/rebind", ["run_failed"]);

        // The name now points at loopback, where a receiver listens on the channel's port.
        app.Dns.Names["rebind.test"] = [IPAddress.Loopback];
        var sent = await client.TestChannelAsync(id);
        Assert.False(sent["delivered"]!.GetValue<bool>());
        Assert.Equal("refused: rebind.test resolves to 127.0.0.1 (loopback); internal addresses are refused unless Notifications:AllowPrivateTargets is true",
            sent["error"]!.GetValue<string>());
        Assert.Empty(receiver.Received);
        var delivery = Assert.Single(await client.DeliveriesAsync());
        Assert.Equal("failed", delivery!["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("93.184.215.14", null)]
    [InlineData("8.8.8.8", null)]
    [InlineData("2606:4700:4700::1111", null)]
    [InlineData("100.63.255.255", null)]
    [InlineData("100.128.0.0", null)]
    [InlineData("172.32.0.1", null)]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("0.1.2.3", "unspecified (0.0.0.0/8)")]
    [InlineData("100.127.255.254", "carrier-grade NAT")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("198.18.0.1", "benchmarking")]
    [InlineData("192.0.2.1", "documentation")]
    [InlineData("255.255.255.255", "reserved")]
    [InlineData("::ffff:169.254.1.1", "link-local")]
    [InlineData("::ffff:8.8.8.8", null)]
    [InlineData("64:ff9b::808:808", null)]
    [InlineData("64:ff9b::7f00:1", "loopback")]
    [InlineData("64:ff9b:1::1", "local-use NAT64")]
    [InlineData("2002:c0a8:101::1", "private")]
    [InlineData("2001:db8::1", "documentation")]
    [InlineData("2001:0:4136:e378::1", "IETF protocol assignment (Teredo and others)")]
    [InlineData("fc00::1", "unique-local")]
    [InlineData("fec0::1", "site-local")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("100::1", "reserved")]
    [InlineData("::1.2.3.4", "IPv4-compatible (deprecated)")]
    public void Each_special_purpose_range_is_named_and_public_addresses_pass(string address, string? kind) =>
        Assert.Equal(kind, TargetGuard.Internal(IPAddress.Parse(address)));
}

/// <summary>With Notifications:AllowPrivateTargets a loopback receiver is reached; a redirect is still not followed.</summary>
public sealed class PrivateTargetsAllowedTests(NotificationsApp app, NotificationReceiver receiver) : IClassFixture<NotificationsApp>, IClassFixture<NotificationReceiver>
{
    [Fact]
    public async Task A_loopback_receiver_is_reached_but_its_redirect_is_not_followed()
    {
        var (client, _, _) = await app.NewUserAsync();
        var reached = await client.WebhookAsync($"http://localhost:{receiver.Port}/hook/allowed", ["run_failed"]);
        Assert.True((await client.TestChannelAsync(reached))["delivered"]!.GetValue<bool>());
        Assert.Single(await receiver.WaitForAsync("/hook/allowed"));

        await using var bouncer = await NotificationReceiver.StartAsync();
        bouncer.Answer((context, _) =>
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = receiver.BaseUrl + "/hook/after-redirect";
            return Task.CompletedTask;
        });
        var redirected = await client.WebhookAsync(bouncer.BaseUrl + "/hook/bounce", ["run_failed"]);
        var sent = await client.TestChannelAsync(redirected);
        Assert.False(sent["delivered"]!.GetValue<bool>());
        Assert.Equal("HTTP 307: the receiver redirects to 127.0.0.1, and redirects are not followed", sent["error"]!.GetValue<string>());
        Assert.Single(bouncer.Received);
        await Task.Delay(300);
        Assert.DoesNotContain(receiver.Received, r => r.Path == "/hook/after-redirect");
    }
}
