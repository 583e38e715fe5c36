using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>An answer to a request sent from a chosen client address.</summary>
public sealed record AddressedAnswer(int Status, JsonNode? Body, IHeaderDictionary Headers);

/// <summary>
/// Requests that arrive from a chosen client address (the in-memory test server has none of its own), with any
/// headers: what a client on another machine, or a proxy in front of the service, would send.
/// </summary>
public static class ClientAddresses
{
    private static readonly JsonSerializerOptions Snake = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<AddressedAnswer> SendFromAsync(
        this AkshareWebApp app, string address, string method, string path, object? body = null, IDictionary<string, string>? headers = null)
    {
        var json = body is null ? null : JsonSerializer.SerializeToUtf8Bytes(body, Snake);
        var context = await app.Server.SendAsync(c =>
        {
            c.Connection.RemoteIpAddress = IPAddress.Parse(address);
            c.Request.Method = method;
            c.Request.Path = path;
            c.Request.Scheme = "http";
            c.Request.Host = new HostString("localhost");
            if (json is not null)
            {
                c.Request.ContentType = "application/json";
                c.Request.ContentLength = json.Length;
                c.Request.Body = new MemoryStream(json);
                c.Features.Set<IHttpRequestBodyDetectionFeature>(new HasBody());
            }

            foreach (var (name, value) in headers ?? new Dictionary<string, string>()) c.Request.Headers[name] = value;
        });
        using var reader = new StreamReader(context.Response.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        JsonNode? parsed = null;
        if (text.Length > 0 && context.Response.ContentType?.Contains("json", StringComparison.Ordinal) == true) parsed = JsonNode.Parse(text);
        return new AddressedAnswer(context.Response.StatusCode, parsed, context.Response.Headers);
    }

    private sealed class HasBody : IHttpRequestBodyDetectionFeature
    {
        public bool CanHaveBody => true;
    }

    public static Task<AddressedAnswer> LoginFromAsync(this AkshareWebApp app, string address, string username, string password) =>
        app.SendFromAsync(address, "POST", "/api/auth/login", new { username, password });
}
