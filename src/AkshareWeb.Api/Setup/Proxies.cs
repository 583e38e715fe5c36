using System.Net;
using AkshareWeb.Features.Common;
using Microsoft.AspNetCore.HttpOverrides;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> are believed only from the proxies the operator names in
/// <c>ForwardedHeaders:KnownProxies</c> (addresses) and <c>ForwardedHeaders:KnownNetworks</c> (CIDR); each entry may
/// also be a comma-separated list. With none named the headers are ignored: anyone could otherwise pick the
/// address the rate limits count them under, or make a plain-HTTP request look like HTTPS.
/// </summary>
public static class Proxies
{
    public const string Section = "ForwardedHeaders";

    public static IServiceCollection AddAkshareWebProxies(this IServiceCollection services, IConfiguration configuration)
    {
        var proxies = Entries(configuration, "KnownProxies")
            .SelectMany(p => p.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? [IPAddress.Loopback] : new[] { IPAddress.Parse(p) }).ToList();
        var networks = Entries(configuration, "KnownNetworks").Select(System.Net.IPNetwork.Parse).ToList();
        // A proxy on this host connects over 127.0.0.1 or ::1 as the name "localhost" resolves for it (nginx and
        // Caddy try both): naming either loopback address trusts both.
        if (proxies.Any(IPAddress.IsLoopback) || networks.Any(n => n.Contains(IPAddress.Loopback) || n.Contains(IPAddress.IPv6Loopback)))
        {
            proxies = [.. proxies.Where(p => !IPAddress.IsLoopback(p)), IPAddress.Loopback, IPAddress.IPv6Loopback];
        }

        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The framework trusts loopback by default, and an empty list means "trust everyone": start from
            // nothing and use exactly what was configured (the middleware is not added at all when that is nothing).
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in proxies) options.KnownProxies.Add(proxy);
            foreach (var network in networks) options.KnownIPNetworks.Add(network);
            // Walk back through a chain of known proxies; the first address that is not one is the client.
            options.ForwardLimit = null;
        });
        return services;
    }

    public static WebApplication UseAkshareWebProxies(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ForwardedHeadersOptions>>().Value;
        if (options.KnownProxies.Count > 0 || options.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Proxies).FullName!);
        var warned = 0;
        app.Use((context, next) =>
        {
            if (ClientAddress.IsUntrustedLocalProxy(context) && Interlocked.Exchange(ref warned, 1) == 0)
            {
                logger.LogWarning(
                    "A request from loopback names its client in X-Forwarded-For, Forwarded or X-Real-IP: a reverse proxy on this host "
                    + "that ForwardedHeaders:KnownProxies does not name. Its requests are not trusted as local (no /metrics without a token) "
                    + "and are counted by the address the proxy added, but X-Forwarded-Proto is ignored. Set "
                    + "AKSHAREWEB__ForwardedHeaders__KnownProxies=127.0.0.1 (README.md, \"Behind a TLS proxy\"). This is said once.");
            }

            return next(context);
        });
        return app;
    }

    private static IEnumerable<string> Entries(IConfiguration configuration, string name)
    {
        var section = configuration.GetSection(Section).GetSection(name);
        var values = section.GetChildren().Select(c => c.Value).Append(section.Value);
        return values.OfType<string>()
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
