using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Features.Notifications;

/// <summary>How one send went: delivered, or not (and whether trying again may help), with the reason.</summary>
public sealed record SendOutcome(bool Sent, bool Retry, string? Error)
{
    public static readonly SendOutcome Delivered = new(true, false, null);

    public static SendOutcome Again(string error) => new(false, true, error);

    public static SendOutcome Never(string error) => new(false, false, error);
}

/// <summary>
/// Sends one message to one channel: over HTTP through the guarded client (<see cref="NotificationHttp"/>: only checked
/// addresses, no redirects, no proxy), or by email (<see cref="EmailSender"/>), and reads the answer as the vendor
/// documents it. Errors say what happened in the receiver's terms (HTTP status, the robot's errcode and errmsg) but
/// never echo a body that is not the vendor's error object.
/// </summary>
public sealed class ChannelSender(IHttpClientFactory clients, EmailSender email, IOptions<NotificationOptions> options, TimeProvider time)
{
    public async Task<SendOutcome> SendAsync(ChannelTarget target, OutgoingMessage message, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(options.Value.TimeoutSeconds);
        if (target.Type == ChannelTypes.Email) return await email.SendAsync(target, message, timeout, options.Value.PublicUrl, ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        using var request = ChannelPayloads.Build(target, message, time.GetUtcNow(), options.Value.PublicUrl);
        try
        {
            using var response = await clients.CreateClient(NotificationHttp.ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            var body = await ReadSomeAsync(response, limit.Token);
            return Judge(target.Type, response, body);
        }
        catch (HttpRequestException e) when (Refusal(e) is { } refused)
        {
            return SendOutcome.Never("refused: " + refused.Message);
        }
        catch (HttpRequestException e)
        {
            return SendOutcome.Again($"could not reach {target.Url!.Host}: {Cause(e)}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return SendOutcome.Again($"no answer from {target.Url!.Host} within {timeout.TotalSeconds:0} s");
        }
    }

    private static TargetRefusedException? Refusal(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is TargetRefusedException refused) return refused;
        }

        return null;
    }

    private static string Cause(HttpRequestException e) =>
        e.InnerException is SocketException s ? s.SocketErrorCode.ToString() : e.HttpRequestError.ToString();

    private static async Task<string> ReadSomeAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[16 * 1024];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), ct)) > 0) read += n;
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    /// <summary>
    /// A 2xx is delivered, unless the robot's own answer says otherwise (DingTalk and WeCom: <c>errcode</c> 0; Feishu:
    /// <c>code</c> 0). A robot's own error, 408, 429 and 5xx are tried again (robots answer rate limits that way); a
    /// redirect (not followed) and any other 4xx are not.
    /// </summary>
    public static SendOutcome Judge(string type, HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        if (status is >= 300 and < 400)
        {
            return SendOutcome.Never($"HTTP {status}: the receiver redirects to {response.Headers.Location?.Host ?? "elsewhere"}, and redirects are not followed");
        }

        if (status is not (>= 200 and < 300))
        {
            var said = type == ChannelTypes.Slack && SlackError(body) is { } code ? $" ({code})" : VendorError(body) is { } vendor ? $" ({vendor})" : "";
            var error = $"HTTP {status}{said}";
            return status is 408 or 429 or >= 500 ? SendOutcome.Again(error) : SendOutcome.Never(error);
        }

        return type switch
        {
            ChannelTypes.DingTalk => Coded(body, "errcode", "errmsg", "DingTalk"),
            ChannelTypes.WeCom => Coded(body, "errcode", "errmsg", "WeCom"),
            ChannelTypes.Feishu => Coded(body, "code", "msg", "Feishu"),
            _ => SendOutcome.Delivered,
        };
    }

    private static SendOutcome Coded(string body, string codeName, string messageName, string vendor)
    {
        try
        {
            using var answer = JsonDocument.Parse(body);
            var root = answer.RootElement;
            // Feishu's older answers carry StatusCode / StatusMessage.
            if (!root.TryGetProperty(codeName, out var code) && !root.TryGetProperty("StatusCode", out code)) return SendOutcome.Again($"{vendor} answered without {codeName}");
            if (code.ValueKind == JsonValueKind.Number && code.GetInt64() == 0) return SendOutcome.Delivered;
            var text = root.TryGetProperty(messageName, out var m) || root.TryGetProperty("StatusMessage", out m) ? m.ToString() : "";
            return SendOutcome.Again($"{vendor} answered {codeName} {code}: {Notifier.Cut(text, 200)}");
        }
        catch (JsonException)
        {
            return SendOutcome.Again($"{vendor} answered something that is not its JSON");
        }
    }

    private static string? VendorError(string body)
    {
        try
        {
            using var answer = JsonDocument.Parse(body);
            var root = answer.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            foreach (var (code, message) in new[] { ("errcode", "errmsg"), ("code", "msg") })
            {
                if (root.TryGetProperty(code, out var c) && c.ValueKind == JsonValueKind.Number)
                {
                    return $"{code} {c}" + (root.TryGetProperty(message, out var m) ? ": " + Notifier.Cut(m.ToString(), 200) : "");
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    /// <summary>Slack answers errors as one lowercase word (invalid_payload, channel_is_archived).</summary>
    private static string? SlackError(string body)
    {
        var word = body.Trim();
        return word.Length is > 0 and <= 60 && word.All(c => c is (>= 'a' and <= 'z') or '_') ? word : null;
    }
}

/// <summary>The HTTP client channels are sent with.</summary>
public static class NotificationHttp
{
    public const string ClientName = "notifications";

    /// <summary>
    /// Connects only to addresses <see cref="TargetGuard"/> has just checked (the name is resolved and judged at each
    /// new connection, so a DNS answer that changed since the channel was saved is judged again), follows no
    /// redirect (a public URL must not bounce the request inward) and uses no proxy (the proxy would be what connects).
    /// </summary>
    public static SocketsHttpHandler Handler(TargetGuard guard) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        ConnectCallback = async (context, ct) =>
        {
            var socket = await guard.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    };
}
