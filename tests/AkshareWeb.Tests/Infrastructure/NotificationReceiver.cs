using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>One request a receiver got, as it arrived on the wire.</summary>
public sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public JsonNode Json => JsonNode.Parse(Body) ?? throw new InvalidOperationException("empty body");

    /// <summary>A query value, URL-decoded once.</summary>
    public string? QueryValue(string name) =>
        Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2))
            .Where(p => p[0] == name).Select(p => Uri.UnescapeDataString(p.Length > 1 ? p[1] : "")).FirstOrDefault();
}

/// <summary>
/// Where the notification channels of a test send: an HTTP server on loopback that records every request (method,
/// path, query, headers, raw body) and answers as the test programs it, by default as the robots answer success
/// (<c>{"errcode":0,"errmsg":"ok","code":0,"msg":"success"}</c>, which the generic webhook and Slack also take). A test
/// class takes one as a fixture; a test that needs one of its own starts it with <see cref="StartAsync"/>.
/// </summary>
public sealed class NotificationReceiver : IAsyncDisposable, IAsyncLifetime
{
    private WebApplication? app;
    private Func<HttpContext, int, Task>? answer;
    private int count;

    public string BaseUrl { get; private set; } = "";

    public int Port { get; private set; }

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public static async Task<NotificationReceiver> StartAsync()
    {
        var receiver = new NotificationReceiver();
        await receiver.InitializeAsync();
        return receiver;
    }

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(BaseUrl).Port;
    }

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    /// <summary>Answers each request with <paramref name="handler"/>, given the request and its number (1 for the first).</summary>
    public void Answer(Func<HttpContext, int, Task> handler) => answer = handler;

    public void Answer(int status, string body, string contentType = "application/json") =>
        answer = (context, _) => WriteAsync(context, status, body, contentType);

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var number = Interlocked.Increment(ref count);
        Received.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body.ToArray()));
        await (answer is { } a ? a(context, number) : WriteAsync(context, 200, """{"errcode":0,"errmsg":"ok","code":0,"msg":"success"}"""));
    }

    public static async Task WriteAsync(HttpContext context, int status, string body, string contentType = "application/json")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>The requests to <paramref name="path"/> once there are at least <paramref name="count"/> (or at the deadline).</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(string path, int count = 1, int seconds = 30)
    {
        var deadline = Deadline.In(seconds);
        while (true)
        {
            var got = Received.Where(r => r.Path == path).ToList();
            if (got.Count >= count || deadline.Passed) return got;
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
