using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> / <c>X-Forwarded-Prefix</c> are believed only from the proxies the operator names in
/// <c>ForwardedHeaders:KnownProxies</c> (addresses) and <c>ForwardedHeaders:KnownNetworks</c> (CIDR); each entry may
/// also be a comma-separated list. With none named the headers are ignored: anyone could otherwise pick the
/// address the rate limits count them under, or make a plain-HTTP request look like HTTPS.
/// </summary>
public static class Proxies
{
    public const string Section = "ForwardedHeaders";

    public static IServiceCollection AddAkshareWebProxies(this IServiceCollection services, IConfiguration configuration)
    {
        var proxies = Entries(configuration, "KnownProxies").Select(IPAddress.Parse).ToList();
        var networks = Entries(configuration, "KnownNetworks").Select(System.Net.IPNetwork.Parse).ToList();
        services.Configure<ForwardedHeadersOptions>(options =>
        {
            // X-Forwarded-Prefix: a proxy serving the service under a prefix it removes (/akshare/api/... -> /api/...)
            // names it, and it becomes the path base links, cookies and the console's page are built on.
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedPrefix;
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
