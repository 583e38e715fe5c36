using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AkshareWeb.Features.Notifications;

/// <summary>
/// Each channel type's request for a message: its body as the vendor documents it and its signature. Every message
/// carries "AkshareWeb" in its first line, so a robot guarded by a keyword (DingTalk's 自定义关键词) can use that word.
/// </summary>
public static class ChannelPayloads
{
    public const string SignatureHeader = "X-AkshareWeb-Signature";
    public const string EventHeader = "X-AkshareWeb-Event";
    public const string DeliveryHeader = "X-AkshareWeb-Delivery";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        // Chinese stays readable in the body (robots show it either way; people reading a receiver's log need not decode it).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static HttpRequestMessage Build(ChannelTarget target, OutgoingMessage message, DateTimeOffset now, string? publicUrl) => target.Type switch
    {
        ChannelTypes.Webhook => Webhook(target.Url!, target.Secret, message, now, publicUrl),
        ChannelTypes.DingTalk => DingTalk(target.Url!, target.Secret, message, now, publicUrl),
        ChannelTypes.WeCom => WeCom(target.Url!, message, publicUrl),
        ChannelTypes.Feishu => Feishu(target.Url!, target.Secret, message, now, publicUrl),
        ChannelTypes.Slack => Slack(target.Url!, message, publicUrl),
        _ => throw new InvalidOperationException($"{target.Type} channels are not sent over HTTP"),
    };

    /// <summary>"AkshareWeb · title".</summary>
    public static string Heading(OutgoingMessage message) => "AkshareWeb · " + message.Title;

    /// <summary>The lines, and a link to the run when the service's public address is known.</summary>
    public static IReadOnlyList<string> Lines(OutgoingMessage message, string? publicUrl)
    {
        if (publicUrl is null || !message.Facts.TryGetProperty("execution_id", out var id) || id.GetString() is not { } executionId) return message.Lines;
        return [.. message.Lines, $"{publicUrl.TrimEnd('/')}/api/executions/{executionId}"];
    }

    /// <summary>
    /// The generic webhook: the event as JSON, signed the way GitHub signs its webhooks (docs.github.com, "Validating
    /// webhook deliveries"): <c>X-AkshareWeb-Signature: sha256=</c> and the lowercase hex HMAC-SHA256 of the exact
    /// body bytes, keyed with the channel's secret (no header without a secret).
    /// </summary>
    public static HttpRequestMessage Webhook(Uri url, string? secret, OutgoingMessage message, DateTimeOffset now, string? publicUrl)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["event"] = message.Event,
            ["title"] = message.Title,
            ["text"] = string.Join('\n', Lines(message, publicUrl)),
            ["lines"] = new JsonArray([.. Lines(message, publicUrl).Select(l => (JsonNode?)l)]),
            ["facts"] = JsonNode.Parse(message.Facts.GetRawText()),
            ["occurred_at"] = message.OccurredAt.ToString("O", CultureInfo.InvariantCulture),
            ["sent_at"] = now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["delivery_id"] = message.DeliveryId,
            ["attempt"] = message.Attempt,
            ["source"] = "AkshareWeb",
        }, Json);
        var request = Post(url, body);
        request.Headers.Add(EventHeader, message.Event);
        request.Headers.Add(DeliveryHeader, message.DeliveryId.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(secret)) request.Headers.Add(SignatureHeader, "sha256=" + WebhookSignature(secret, body));
        return request;
    }

    public static string WebhookSignature(string secret, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>
    /// DingTalk custom robot (open.dingtalk.com, 自定义机器人发送群消息 and 自定义机器人安全设置): a markdown message
    /// <c>{"msgtype":"markdown","markdown":{"title","text"}}</c>; with a signing secret (加签), <c>timestamp</c> (ms) and
    /// <c>sign</c> are added to the URL, sign being the URL-encoded Base64 of HmacSHA256 over <c>timestamp + "\n" + secret</c>
    /// keyed with the secret.
    /// </summary>
    public static HttpRequestMessage DingTalk(Uri url, string? secret, OutgoingMessage message, DateTimeOffset now, string? publicUrl)
    {
        var text = new StringBuilder().Append("#### ").Append(Heading(message)).Append("\n\n");
        foreach (var line in Lines(message, publicUrl)) text.Append("- ").Append(line).Append('\n');
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            msgtype = "markdown",
            markdown = new { title = Heading(message), text = text.ToString() },
        }, Json);
        if (string.IsNullOrEmpty(secret)) return Post(url, body);
        var timestamp = now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var sign = Uri.EscapeDataString(DingTalkSignature(secret, timestamp));
        var separator = url.Query.Length > 1 ? "&" : "?";
        return Post(new Uri($"{url.AbsoluteUri}{separator}timestamp={timestamp}&sign={sign}"), body);
    }

    public static string DingTalkSignature(string secret, string timestamp) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "\n" + secret)));

    /// <summary>WeCom (企业微信) group robot (developer.work.weixin.qq.com/document/path/91770, 群机器人配置说明): a markdown
    /// message <c>{"msgtype":"markdown","markdown":{"content"}}</c> of at most 4096 bytes; the key in the URL is its only credential.</summary>
    public static HttpRequestMessage WeCom(Uri url, OutgoingMessage message, string? publicUrl)
    {
        var text = new StringBuilder().Append("**").Append(Heading(message)).Append("**\n");
        foreach (var line in Lines(message, publicUrl)) text.Append("> ").Append(line).Append('\n');
        var body = JsonSerializer.SerializeToUtf8Bytes(new { msgtype = "markdown", markdown = new { content = CutBytes(text.ToString(), 4096) } }, Json);
        return Post(url, body);
    }

    /// <summary>
    /// Feishu / Lark custom bot (open.feishu.cn, 自定义机器人使用指南): a rich-text message
    /// <c>{"msg_type":"post","content":{"post":{"zh_cn":{"title","content":[[{"tag":"text","text"}]]}}}}</c>; with a
    /// signing secret (签名校验), <c>timestamp</c> (seconds) and <c>sign</c> join the body, sign being the Base64 of
    /// HmacSHA256 keyed with <c>timestamp + "\n" + secret</c> over an empty message.
    /// </summary>
    public static HttpRequestMessage Feishu(Uri url, string? secret, OutgoingMessage message, DateTimeOffset now, string? publicUrl)
    {
        var paragraphs = new JsonArray([.. Lines(message, publicUrl).Select(l => (JsonNode?)new JsonArray(new JsonObject { ["tag"] = "text", ["text"] = l }))]);
        var body = new JsonObject();
        if (!string.IsNullOrEmpty(secret))
        {
            var timestamp = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            body["timestamp"] = timestamp;
            body["sign"] = FeishuSignature(secret, timestamp);
        }

        body["msg_type"] = "post";
        body["content"] = new JsonObject { ["post"] = new JsonObject { ["zh_cn"] = new JsonObject { ["title"] = Heading(message), ["content"] = paragraphs } } };
        return Post(url, JsonSerializer.SerializeToUtf8Bytes(body, Json));
    }

    public static string FeishuSignature(string secret, string timestamp) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(timestamp + "\n" + secret), Array.Empty<byte>()));

    /// <summary>Slack incoming webhook (api.slack.com/messaging/webhooks), which Mattermost and Rocket.Chat also take:
    /// <c>{"text"}</c> in Slack's mrkdwn, with &amp;, &lt; and &gt; escaped as Slack asks.</summary>
    public static HttpRequestMessage Slack(Uri url, OutgoingMessage message, string? publicUrl)
    {
        var text = "*" + SlackEscape(Heading(message)) + "*\n" + string.Join('\n', Lines(message, publicUrl).Select(SlackEscape));
        return Post(url, JsonSerializer.SerializeToUtf8Bytes(new { text }, Json));
    }

    private static string SlackEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static HttpRequestMessage Post(Uri url, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
    }

    /// <summary>At most <paramref name="max"/> UTF-8 bytes, cut between characters.</summary>
    private static string CutBytes(string text, int max)
    {
        if (Encoding.UTF8.GetByteCount(text) <= max) return text;
        var cut = new StringBuilder();
        var bytes = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > max - 3) break;
            bytes += rune.Utf8SequenceLength;
            cut.Append(rune.ToString());
        }

        return cut.Append('…').ToString();
    }
}
