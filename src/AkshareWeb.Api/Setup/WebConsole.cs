using System.Net;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace AkshareWeb.Api.Setup;

/// <summary>Configuration section <c>Console</c>: where the built web console is (console/dist, see console/README).</summary>
public sealed class WebConsoleOptions
{
    public const string Section = "Console";

    /// <summary>The folder holding index.html and assets/; empty: console/dist at the content root or the nearest above it.</summary>
    public string? Path { get; set; }
}

/// <summary>
/// The web console, served by the service itself: its hashed assets (<c>/assets/…</c>, cached for a year, sent
/// precompressed as the build wrote them) and its page, <c>index.html</c>, for <c>/</c> and for any page address a
/// browser asks for outside the service's own prefixes (<c>/tables/ak_…</c> is a console route). The page is never
/// cached, so a new build shows at the next load, carries the console's Content-Security-Policy, and learns its
/// path base through <c>&lt;base href&gt;</c>: behind a proxy's prefix (<c>X-Forwarded-Prefix</c> from a known
/// proxy, or <c>PathBase</c>) every asset, route and API call is taken relative to it. Without a build the service
/// runs as before and <c>/</c> says how to build one.
/// </summary>
public static class WebConsole
{
    /// <summary>
    /// Scripts only from the service itself (Vite emits no inline script); styles may be inline because the component
    /// library positions popups through style attributes; the API is the only place the page talks to.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    private const string BaseTag = "<base href=\"/\">";
    private static readonly string[] ServicePrefixes = ["/api", "/swagger", "/hangfire", "/health", "/metrics"];
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public static IServiceCollection AddWebConsole(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<WebConsoleOptions>(configuration.GetSection(WebConsoleOptions.Section));
        return services;
    }

    /// <summary><c>PathBase</c> (e.g. <c>/akshare</c>): for a proxy that passes its prefix on instead of removing it.</summary>
    public static WebApplication UseConfiguredPathBase(this WebApplication app)
    {
        var pathBase = app.Configuration["PathBase"];
        if (!string.IsNullOrWhiteSpace(pathBase)) app.UsePathBase("/" + pathBase.Trim().Trim('/'));
        return app;
    }

    public static WebApplication UseWebConsole(this WebApplication app)
    {
        var folder = Locate(app.Services.GetRequiredService<IOptions<WebConsoleOptions>>().Value.Path, app.Environment.ContentRootPath);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebConsole));
        if (folder is null)
        {
            logger.LogInformation("No web console build (console/dist); / explains how to build it");
            app.MapGet("/", () => Results.Text("The web console is not built: run scripts/run.sh, or `npm ci && npm run build` in console/.\n"))
                .ExcludeFromDescription();
            return app;
        }

        logger.LogInformation("Web console from {Folder}", folder);
        var files = new PhysicalFileProvider(folder);
        app.Use((context, next) =>
        {
            var request = context.Request;
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)) return next(context);
            var path = request.Path.Value ?? "/";
            if (path.StartsWith("/assets/", StringComparison.Ordinal))
            {
                return files.GetFileInfo(path) is { Exists: true, IsDirectory: false } asset ? SendAssetAsync(context, files, path, asset) : next(context);
            }

            if (ServicePrefixes.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase))) return next(context);
            if (path != "/" && files.GetFileInfo(path) is { Exists: true, IsDirectory: false } file)
            {
                // favicon and the like: small, not hashed, so revalidated.
                return SendAsync(context, file, path, "no-cache", null);
            }

            // A page address (no extension) that a browser navigates to is a console route; an API client asking for
            // an unknown address still gets the 404 envelope.
            var isPage = path == "/" || (!System.IO.Path.HasExtension(path) && AcceptsHtml(request));
            return isPage ? SendPageAsync(context, files) : next(context);
        });
        return app;
    }

    private static bool AcceptsHtml(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase));

    private static async Task SendPageAsync(HttpContext context, IFileProvider files)
    {
        var page = files.GetFileInfo("index.html");
        if (!page.Exists)
        {
            context.Response.StatusCode = 404;
            return;
        }

        string html;
        await using (var stream = page.CreateReadStream())
        using (var reader = new StreamReader(stream))
        {
            html = await reader.ReadToEndAsync(context.RequestAborted);
        }

        var baseHref = WebUtility.HtmlEncode(context.Request.PathBase.Value?.TrimEnd('/') + "/");
        html = html.Replace(BaseTag, $"<base href=\"{baseHref}\">", StringComparison.Ordinal);
        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XFrameOptions = "DENY";
        if (HttpMethods.IsHead(context.Request.Method)) return;
        await response.WriteAsync(html, context.RequestAborted);
    }

    /// <summary>A hashed asset: immutable, and the build's .br or .gz twin when the browser takes it.</summary>
    private static Task SendAssetAsync(HttpContext context, IFileProvider files, string path, IFileInfo asset)
    {
        var accepted = context.Request.Headers.AcceptEncoding.ToString();
        foreach (var (encoding, suffix) in new[] { ("br", ".br"), ("gzip", ".gz") })
        {
            if (!accepted.Contains(encoding, StringComparison.OrdinalIgnoreCase)) continue;
            if (files.GetFileInfo(path + suffix) is { Exists: true } compressed)
            {
                return SendAsync(context, compressed, path, "public, max-age=31536000, immutable", encoding);
            }
        }

        return SendAsync(context, asset, path, "public, max-age=31536000, immutable", null);
    }

    private static Task SendAsync(HttpContext context, IFileInfo file, string path, string cacheControl, string? encoding)
    {
        var response = context.Response;
        response.ContentType = ContentTypes.TryGetContentType(path, out var type) ? type : "application/octet-stream";
        response.ContentLength = file.Length;
        response.Headers.CacheControl = cacheControl;
        response.Headers.Vary = HeaderNames.AcceptEncoding;
        if (encoding is not null) response.Headers.ContentEncoding = encoding;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.SendFileAsync(file, context.RequestAborted);
    }

    private static string? Locate(string? configured, string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(System.IO.Path.Combine(configured, "index.html")) ? System.IO.Path.GetFullPath(configured) : null;
        }

        for (var directory = new DirectoryInfo(contentRoot); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, "console", "dist");
            if (File.Exists(System.IO.Path.Combine(candidate, "index.html"))) return candidate;
        }

        return null;
    }
}
