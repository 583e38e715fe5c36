using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using AkshareWeb.Tests.Infrastructure;
using MimeKit;

namespace AkshareWeb.Tests.Notifications;

/// <summary>
/// Each channel type's message as its receiver gets it, sent by POST /channels/{id}/test to a receiver on loopback:
/// the body each vendor documents, and the signature computed here again from the vendor's documented algorithm.
/// </summary>
public sealed class ChannelPayloadTests(NotificationsApp app, NotificationReceiver receiver) : IClassFixture<NotificationsApp>, IClassFixture<NotificationReceiver>
{
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static byte[] Hmac(string key, string data) => HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(data));

    [Fact]
    public async Task A_webhook_gets_json_signed_with_the_hex_hmac_sha256_of_its_body()
    {
        var (client, _, _) = await app.NewUserAsync();
        var channel = await client.CreateChannelAsync(new { name = "夜间采集", type = "webhook", url = receiver.BaseUrl + "/hook/signed", secret = "whsec-夜-1", events = new[] { "run_failed" } });
        var sent = await client.TestChannelAsync(channel["id"]!.GetValue<long>());
        Assert.True(sent["delivered"]!.GetValue<bool>(), sent.ToJsonString());

        var request = Assert.Single(await receiver.WaitForAsync("/hook/signed"));
        Assert.Equal("POST", request.Method);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        // GitHub's scheme: "sha256=" and the lowercase hex HMAC-SHA256 of the raw body, keyed with the secret.
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("whsec-夜-1"), request.Body));
        Assert.Equal(expected, request.Headers["X-AkshareWeb-Signature"]);
        Assert.Equal("test", request.Headers["X-AkshareWeb-Event"]);
        var body = request.Json;
        Assert.Equal("test", body["event"]!.GetValue<string>());
        Assert.Equal("AkshareWeb", body["source"]!.GetValue<string>());
        Assert.Equal(sent["delivery_id"]!.GetValue<long>(), body["delivery_id"]!.GetValue<long>());
        Assert.Equal(sent["delivery_id"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture), request.Headers["X-AkshareWeb-Delivery"]);
        Assert.Contains("夜间采集", body["title"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotEmpty(body["lines"]!.AsArray());
        Assert.Equal(string.Join('\n', body["lines"]!.AsArray().Select(l => l!.GetValue<string>())), body["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_webhook_without_a_secret_is_sent_unsigned()
    {
        var (client, _, _) = await app.NewUserAsync();
        var id = await client.WebhookAsync(receiver.BaseUrl + "/hook/unsigned", ["run_failed"]);
        Assert.True((await client.TestChannelAsync(id))["delivered"]!.GetValue<bool>());
        var request = Assert.Single(await receiver.WaitForAsync("/hook/unsigned"));
        Assert.False(request.Headers.ContainsKey("X-AkshareWeb-Signature"));
    }

    [Fact]
    public async Task A_dingtalk_robot_gets_markdown_and_a_url_signed_with_timestamp_and_secret()
    {
        var (client, _, _) = await app.NewUserAsync();
        const string secret = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";
        var channel = await client.CreateChannelAsync(new
        {
            name = "钉钉值班群", type = "dingtalk", url = receiver.BaseUrl + "/robot/send?access_token=dt-token-1", secret, events = new[] { "run_failed", "task_failing" },
        });
        var before = NowMs;
        var sent = await client.TestChannelAsync(channel["id"]!.GetValue<long>());
        Assert.True(sent["delivered"]!.GetValue<bool>(), sent.ToJsonString());

        var request = Assert.Single(await receiver.WaitForAsync("/robot/send"));
        Assert.Equal("dt-token-1", request.QueryValue("access_token"));
        var timestamp = request.QueryValue("timestamp")!;
        Assert.InRange(long.Parse(timestamp, CultureInfo.InvariantCulture), before - 1000, NowMs + 1000);
        // DingTalk (加签): Base64 of HmacSHA256 keyed with the secret over timestamp + "\n" + secret, then URL-encoded;
        // QueryValue decodes the URL encoding once.
        Assert.Equal(Convert.ToBase64String(Hmac(secret, timestamp + "\n" + secret)), request.QueryValue("sign"));
        Assert.Contains("sign=" + Uri.EscapeDataString(Convert.ToBase64String(Hmac(secret, timestamp + "\n" + secret))), request.Query, StringComparison.Ordinal);
        var body = request.Json;
        Assert.Equal("markdown", body["msgtype"]!.GetValue<string>());
        Assert.Contains("AkshareWeb", body["markdown"]!["title"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith("#### AkshareWeb · test message for channel 钉钉值班群", body["markdown"]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("\n- This dingtalk channel reaches you", body["markdown"]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dingtalk", "/robot/send?access_token=x", """{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}""",
        "DingTalk answered errcode 310000: sign not match")]
    [InlineData("feishu", "/open-apis/bot/v2/hook/x", """{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}""",
        "Feishu answered code 19021: sign match fail")]
    [InlineData("wecom", "/cgi-bin/webhook/send?key=x", """{"errcode":93000,"errmsg":"invalid webhook url"}""", "WeCom answered errcode 93000: invalid webhook url")]
    public async Task A_robots_error_code_in_a_200_is_not_delivered_and_says_why(string type, string path, string answer, string error)
    {
        var (client, _, _) = await app.NewUserAsync();
        await using var own = await NotificationReceiver.StartAsync();
        own.Answer(200, answer);
        var channel = await client.CreateChannelAsync(new { name = "错签", type, url = own.BaseUrl + path, secret = type == "wecom" ? null : "SECwrong", events = new[] { "run_failed" } });
        var sent = await client.TestChannelAsync(channel["id"]!.GetValue<long>());
        Assert.False(sent["delivered"]!.GetValue<bool>());
        Assert.StartsWith(error, sent["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var delivery = Assert.Single(await client.DeliveriesAsync())!;
        Assert.Equal("failed", delivery["status"]!.GetValue<string>());
        Assert.Equal(1, delivery["attempts"]!.GetValue<int>());
        Assert.StartsWith(error, delivery["last_error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wecom_robot_gets_markdown_and_takes_no_secret()
    {
        var (client, _, _) = await app.NewUserAsync();
        var refused = await (await client.PostAsJsonAsync("/api/notifications/channels", new
        {
            name = "企业微信", type = "wecom", url = receiver.BaseUrl + "/cgi-bin/webhook/send?key=k1", secret = "not-used", events = new[] { "run_failed" },
        })).ExpectAsync(422, 3001);
        Assert.Equal("secret", refused["detail"]![0]!["field"]!.GetValue<string>());

        var channel = await client.CreateChannelAsync(new { name = "企业微信", type = "wecom", url = receiver.BaseUrl + "/cgi-bin/webhook/send?key=wc-key-1", events = new[] { "run_failed" } });
        Assert.Equal($"http://127.0.0.1:{receiver.Port}/cgi-bin/webhook/send?key=***", channel["url"]!.GetValue<string>());
        Assert.True((await client.TestChannelAsync(channel["id"]!.GetValue<long>()))["delivered"]!.GetValue<bool>());
        var request = Assert.Single(await receiver.WaitForAsync("/cgi-bin/webhook/send"));
        Assert.Equal("wc-key-1", request.QueryValue("key"));
        var body = request.Json;
        Assert.Equal("markdown", body["msgtype"]!.GetValue<string>());
        var content = body["markdown"]!["content"]!.GetValue<string>();
        Assert.StartsWith("**AkshareWeb · test message for channel 企业微信**\n> This wecom channel reaches you", content, StringComparison.Ordinal);
        Assert.True(Encoding.UTF8.GetByteCount(content) <= 4096);
    }

    [Fact]
    public async Task A_feishu_robot_gets_a_post_message_with_timestamp_and_sign_in_the_body()
    {
        var (client, _, _) = await app.NewUserAsync();
        const string secret = "fs-secret-Qx9";
        var channel = await client.CreateChannelAsync(new { name = "飞书告警", type = "feishu", url = receiver.BaseUrl + "/open-apis/bot/v2/hook/fs-hook-1", secret, events = new[] { "run_failed" } });
        Assert.Equal($"http://127.0.0.1:{receiver.Port}/open-apis/bot/v2/hook/***", channel["url"]!.GetValue<string>());
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.True((await client.TestChannelAsync(channel["id"]!.GetValue<long>()))["delivered"]!.GetValue<bool>());

        var body = Assert.Single(await receiver.WaitForAsync("/open-apis/bot/v2/hook/fs-hook-1")).Json;
        var timestamp = body["timestamp"]!.GetValue<string>();
        Assert.InRange(long.Parse(timestamp, CultureInfo.InvariantCulture), before - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        // Feishu (签名校验): HmacSHA256 keyed with timestamp + "\n" + secret over an empty message, then Base64.
        var expected = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(timestamp + "\n" + secret), Array.Empty<byte>()));
        Assert.Equal(expected, body["sign"]!.GetValue<string>());
        Assert.Equal("post", body["msg_type"]!.GetValue<string>());
        var post = body["content"]!["post"]!["zh_cn"]!;
        Assert.Equal("AkshareWeb · test message for channel 飞书告警", post["title"]!.GetValue<string>());
        var first = post["content"]![0]![0]!;
        Assert.Equal("text", first["tag"]!.GetValue<string>());
        Assert.StartsWith("This feishu channel reaches you", first["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slack_compatible_webhook_gets_escaped_mrkdwn_text()
    {
        var (client, _, _) = await app.NewUserAsync();
        await using var own = await NotificationReceiver.StartAsync();
        own.Answer(200, "ok", "text/plain");
        var channel = await client.CreateChannelAsync(new { name = "ops <&> 值班", type = "slack", url = own.BaseUrl + "/services/T000/B000/XXXX", events = new[] { "instance_lost" } });
        Assert.Equal($"http://127.0.0.1:{own.Port}/services/T000/B000/***", channel["url"]!.GetValue<string>());
        Assert.True((await client.TestChannelAsync(channel["id"]!.GetValue<long>()))["delivered"]!.GetValue<bool>());
        var body = Assert.Single(await own.WaitForAsync("/services/T000/B000/XXXX")).Json;
        Assert.Equal(new[] { "text" }, body.AsObject().Select(p => p.Key));
        Assert.StartsWith("*AkshareWeb · test message for channel ops &lt;&amp;&gt; 值班*\nThis slack channel reaches you", body["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_email_channel_sends_through_smtp_to_every_recipient()
    {
        var (client, _, _) = await app.NewUserAsync();
        await using var smtp = FakeSmtpServer.Start();
        var channel = await client.CreateChannelAsync(new
        {
            name = "值班邮箱", type = "email", events = new[] { "run_failed" },
            smtp = new { host = "127.0.0.1", port = smtp.Port, security = "none", from = "akshare@example.com", to = new[] { "oncall@example.com", "quant@example.com" } },
        });
        Assert.Null(channel["url"]);
        Assert.False(channel["smtp"]!["password_set"]!.GetValue<bool>());
        var sent = await client.TestChannelAsync(channel["id"]!.GetValue<long>());
        Assert.True(sent["delivered"]!.GetValue<bool>(), sent.ToJsonString());

        var mail = Assert.Single(smtp.Mails);
        Assert.Equal("akshare@example.com", mail.From);
        Assert.Equal(["oncall@example.com", "quant@example.com"], mail.To);
        var message = await MimeMessage.LoadAsync(new MemoryStream(Encoding.UTF8.GetBytes(mail.Data)));
        Assert.Equal("AkshareWeb · test message for channel 值班邮箱", message.Subject);
        Assert.Equal("test", message.Headers["X-AkshareWeb-Event"]);
        Assert.Contains("This email channel reaches you", message.TextBody, StringComparison.Ordinal);
    }
}
