using System.IO.Compression;
using System.Net;
using System.Text;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// The service with a console build of the test's own (Console:Path: an index.html with Vite's base tag and a hashed
/// script with its .br and .gz twins, as console/'s build writes them), a proxy it believes (10.0.0.1) and a configured
/// path base for proxies that keep their prefix.
/// </summary>
public sealed class WebConsoleApp : AkshareWebApp
{
    public const string Script = "console.log('akshareweb');\n";
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "aw-console-" + Guid.NewGuid().ToString("N"));

    public WebConsoleApp()
    {
        Directory.CreateDirectory(Path.Combine(Folder, "assets"));
        File.WriteAllText(Path.Combine(Folder, "index.html"),
            "<!doctype html><html><head><base href=\"/\"><script type=\"module\" src=\"./assets/index-Ab12Cd.js\"></script></head><body></body></html>");
        File.WriteAllText(Path.Combine(Folder, "favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
        var script = Path.Combine(Folder, "assets", "index-Ab12Cd.js");
        File.WriteAllText(script, Script);
        using (var gz = new GZipStream(File.Create(script + ".gz"), CompressionLevel.Optimal)) gz.Write(Encoding.UTF8.GetBytes(Script));
        using (var br = new BrotliStream(File.Create(script + ".br"), CompressionLevel.Optimal)) br.Write(Encoding.UTF8.GetBytes(Script));
        Set("Console:Path", Folder);
        Set("ForwardedHeaders:KnownProxies:0", "10.0.0.1");
        Set("PathBase", "/kept");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}

public sealed class WebConsoleTests(WebConsoleApp app) : IClassFixture<WebConsoleApp>
{
    private sealed record Answer(int Status, IHeaderDictionary Headers, byte[] Body)
    {
        public string Text => Encoding.UTF8.GetString(Body);
    }

    private async Task<Answer> SendAsync(string path, IDictionary<string, string>? headers = null, string from = "127.0.0.1", string method = "GET")
    {
        var context = await app.Server.SendAsync(c =>
        {
            c.Connection.RemoteIpAddress = IPAddress.Parse(from);
            c.Request.Method = method;
            var query = path.IndexOf('?', StringComparison.Ordinal);
            c.Request.Path = query < 0 ? path : path[..query];
            if (query >= 0) c.Request.QueryString = new QueryString(path[query..]);
            c.Request.Scheme = "http";
            c.Request.Host = new HostString("localhost");
            foreach (var (name, value) in headers ?? new Dictionary<string, string>()) c.Request.Headers[name] = value;
        });
        using var body = new MemoryStream();
        await context.Response.Body.CopyToAsync(body);
        return new Answer(context.Response.StatusCode, context.Response.Headers, body.ToArray());
    }

    private static readonly Dictionary<string, string> Browser = new() { ["Accept"] = "text/html,application/xhtml+xml,*/*;q=0.8" };

    [Fact]
    public async Task The_root_is_the_console_page_never_cached_with_a_csp_that_allows_no_inline_script()
    {
        var page = await SendAsync("/");
        Assert.Equal(200, page.Status);
        Assert.StartsWith("text/html", page.Headers.ContentType.ToString(), StringComparison.Ordinal);
        Assert.Contains("<base href=\"/\">", page.Text, StringComparison.Ordinal);
        Assert.Contains("no-cache", page.Headers.CacheControl.ToString(), StringComparison.Ordinal);
        var csp = page.Headers.ContentSecurityPolicy.ToString();
        var scripts = csp.Split(';').Select(d => d.Trim()).Single(d => d.StartsWith("script-src", StringComparison.Ordinal));
        Assert.Equal("script-src 'self'", scripts);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.XContentTypeOptions.ToString());
    }

    [Fact]
    public async Task A_console_route_a_browser_opens_is_the_page_an_api_client_still_gets_the_404_envelope()
    {
        var deep = await SendAsync("/tables/ak_stock_zh_a_hist?tab=chart", Browser);
        Assert.Equal(200, deep.Status);
        Assert.Contains("<base href=\"/\">", deep.Text, StringComparison.Ordinal);

        var client = await SendAsync("/tables/ak_stock_zh_a_hist");
        Assert.Equal(404, client.Status);
        Assert.Contains("\"code\":2001", client.Text, StringComparison.Ordinal);
        // The service's own prefixes never answer the page, whatever the browser accepts.
        foreach (var path in new[] { "/api/no-such-thing", "/swagger/nothing", "/health/nothing", "/metrics/nothing" })
        {
            var answer = await SendAsync(path, Browser);
            Assert.DoesNotContain("<base href", answer.Text, StringComparison.Ordinal);
        }

        Assert.Equal(200, (await SendAsync("/health/live", Browser)).Status);
    }

    [Fact]
    public async Task Hashed_assets_are_cached_for_a_year_and_sent_as_the_build_compressed_them()
    {
        var brotli = await SendAsync("/assets/index-Ab12Cd.js", new Dictionary<string, string> { ["Accept-Encoding"] = "gzip, deflate, br" });
        Assert.Equal(200, brotli.Status);
        Assert.Equal("br", brotli.Headers.ContentEncoding.ToString());
        Assert.Equal("text/javascript", brotli.Headers.ContentType.ToString());
        Assert.Equal("public, max-age=31536000, immutable", brotli.Headers.CacheControl.ToString());
        Assert.Equal("Accept-Encoding", brotli.Headers.Vary.ToString());
        using (var reader = new StreamReader(new BrotliStream(new MemoryStream(brotli.Body), CompressionMode.Decompress)))
        {
            Assert.Equal(WebConsoleApp.Script, await reader.ReadToEndAsync());
        }

        var gzip = await SendAsync("/assets/index-Ab12Cd.js", new Dictionary<string, string> { ["Accept-Encoding"] = "gzip" });
        Assert.Equal("gzip", gzip.Headers.ContentEncoding.ToString());
        var plain = await SendAsync("/assets/index-Ab12Cd.js");
        Assert.Equal("", plain.Headers.ContentEncoding.ToString());
        Assert.Equal(WebConsoleApp.Script, plain.Text);

        var head = await SendAsync("/assets/index-Ab12Cd.js", method: "HEAD");
        Assert.Equal(200, head.Status);
        Assert.Empty(head.Body);

        var missing = await SendAsync("/assets/index-Gone00.js", Browser);
        Assert.Equal(404, missing.Status);
        Assert.Contains("\"code\":2001", missing.Text, StringComparison.Ordinal);
        var icon = await SendAsync("/favicon.svg");
        Assert.Equal("image/svg+xml", icon.Headers.ContentType.ToString());
        Assert.Equal("no-cache", icon.Headers.CacheControl.ToString());
    }

    [Fact]
    public async Task Behind_a_known_proxy_the_forwarded_prefix_is_the_page_base_and_the_cookie_paths()
    {
        var prefixed = new Dictionary<string, string>(Browser) { ["X-Forwarded-Prefix"] = "/akshare", ["X-Forwarded-For"] = "198.51.100.7" };
        var page = await SendAsync("/tables/ak_x", prefixed, from: "10.0.0.1");
        Assert.Contains("<base href=\"/akshare/\">", page.Text, StringComparison.Ordinal);

        // Anyone else's X-Forwarded-Prefix is ignored: it cannot move the console's base.
        var spoofed = await SendAsync("/", prefixed, from: "203.0.113.9");
        Assert.Contains("<base href=\"/\">", spoofed.Text, StringComparison.Ordinal);

        var login = await app.SendFromAsync("10.0.0.1", "POST", "/api/auth/login",
            new { username = "admin", password = AkshareWebApp.AdminPassword, refresh_cookie = true }, new Dictionary<string, string> { ["X-Forwarded-Prefix"] = "/akshare" });
        Assert.Equal(200, login.Status);
        Assert.Contains("path=/akshare/api/auth/refresh", login.Headers.SetCookie.ToString(), StringComparison.OrdinalIgnoreCase);

        var token = login.Body!["data"]!["access_token"]!.GetValue<string>();
        var dashboard = await app.SendFromAsync("10.0.0.1", "POST", "/api/auth/dashboard-session", null,
            new Dictionary<string, string> { ["X-Forwarded-Prefix"] = "/akshare", ["Authorization"] = "Bearer " + token });
        Assert.Equal(200, dashboard.Status);
        Assert.Equal("/akshare/hangfire", dashboard.Body!["data"]!["dashboard_url"]!.GetValue<string>());
        Assert.Contains("path=/akshare/hangfire", dashboard.Headers.SetCookie.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_configured_path_base_serves_the_console_and_the_api_under_it_as_well_as_at_the_root()
    {
        var page = await SendAsync("/kept/executions", Browser);
        Assert.Contains("<base href=\"/kept/\">", page.Text, StringComparison.Ordinal);
        var asset = await SendAsync("/kept/assets/index-Ab12Cd.js");
        Assert.Equal(WebConsoleApp.Script, asset.Text);
        var registration = await SendAsync("/kept/api/auth/registration");
        Assert.Contains("\"mode\":\"open\"", registration.Text, StringComparison.Ordinal);
        Assert.Equal(401, (await SendAsync("/kept/api/auth/me")).Status);
        Assert.Contains("<base href=\"/\">", (await SendAsync("/")).Text, StringComparison.Ordinal);
    }
}
