using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Notifications;

/// <summary>
/// The channel endpoints between two users and an admin: who sees and touches which channel, who may hear of
/// everything, what is refused, and that secrets, passwords and the tokens in robots' URLs never come back.
/// </summary>
public sealed class ChannelsApiTests(NotificationsApp app, NotificationReceiver receiver) : IClassFixture<NotificationsApp>, IClassFixture<NotificationReceiver>
{
    [Fact]
    public async Task A_user_sees_and_touches_only_their_channels_and_an_admin_sees_all()
    {
        var (alice, _, _) = await app.NewUserAsync();
        var (bob, _, _) = await app.NewUserAsync();
        var admin = await app.AdminAsync();
        var alices = await alice.WebhookAsync(receiver.BaseUrl + "/hook/alice", ["run_failed"]);
        var bobs = await bob.WebhookAsync(receiver.BaseUrl + "/hook/bob", ["task_failing"]);

        var seenByBob = (await (await bob.GetAsync("/api/notifications/channels")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal([bobs], seenByBob["items"]!.AsArray().Select(c => c!["id"]!.GetValue<long>()));
        Assert.Equal(1, seenByBob["total"]!.GetValue<long>());
        await (await bob.PutAsJsonAsync($"/api/notifications/channels/{alices}", new { name = "mine now" })).ExpectAsync(404, 2001);
        await (await bob.PostAsync($"/api/notifications/channels/{alices}/test", null)).ExpectAsync(404, 2001);
        await (await bob.DeleteAsync($"/api/notifications/channels/{alices}")).ExpectAsync(404, 2001);
        await (await bob.PostAsync("/api/notifications/channels/999999/test", null)).ExpectAsync(404, 2001);
        Assert.DoesNotContain(await bob.DeliveriesAsync(), d => d!["channel_id"]!.GetValue<long>() == alices);

        var all = (await (await admin.GetAsync("/api/notifications/channels?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray();
        Assert.Contains(all, c => c!["id"]!.GetValue<long>() == alices);
        Assert.Contains(all, c => c!["id"]!.GetValue<long>() == bobs);
        var renamed = (await (await admin.PutAsJsonAsync($"/api/notifications/channels/{alices}", new { name = "renamed by admin" })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("renamed by admin", renamed["name"]!.GetValue<string>());

        await (await alice.DeleteAsync($"/api/notifications/channels/{alices}")).ExpectAsync(200, 0);
        await (await alice.PutAsJsonAsync($"/api/notifications/channels/{alices}", new { name = "gone" })).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Only_an_admin_has_a_channel_that_hears_of_everything()
    {
        var (user, _, _) = await app.NewUserAsync();
        var refused = await (await user.PostAsJsonAsync("/api/notifications/channels", new
        {
            name = "everything", type = "webhook", url = receiver.BaseUrl + "/hook/all", events = new[] { "run_failed" }, scope = "all",
        })).ExpectAsync(403, 1003);
        Assert.Contains("scope all", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var mine = await user.WebhookAsync(receiver.BaseUrl + "/hook/mine", ["run_failed"]);
        await (await user.PutAsJsonAsync($"/api/notifications/channels/{mine}", new { scope = "all" })).ExpectAsync(403, 1003);

        var admin = await app.AdminAsync();
        var everything = await admin.CreateChannelAsync(new { name = "值班", type = "webhook", url = receiver.BaseUrl + "/hook/all", events = new[] { "run_failed", "instance_lost" }, scope = "all" });
        Assert.Equal("all", everything["scope"]!.GetValue<string>());
        // An admin cannot make a user's channel hear of everything: it would hear nothing (its owner is no admin).
        await (await admin.PutAsJsonAsync($"/api/notifications/channels/{mine}", new { scope = "all" })).ExpectAsync(422, 3001);
    }

    [Fact]
    public async Task Secrets_passwords_and_url_tokens_are_stored_encrypted_and_never_returned()
    {
        var (client, _, _) = await app.NewUserAsync();
        const string secret = "SECdo-not-show-me-0123456789";
        const string token = "access-token-do-not-show";
        var created = await client.CreateChannelAsync(new
        {
            name = "钉钉", type = "dingtalk", url = $"{receiver.BaseUrl}/robot/send?access_token={token}", secret, events = new[] { "run_failed" },
        });
        var id = created["id"]!.GetValue<long>();
        Assert.True(created["secret_set"]!.GetValue<bool>());
        Assert.Null(created["secret"]);
        Assert.Equal($"http://127.0.0.1:{receiver.Port}/robot/send?access_token=***", created["url"]!.GetValue<string>());

        var listed = await (await client.GetAsync("/api/notifications/channels")).Content.ReadAsStringAsync();
        var updated = await (await client.PutAsJsonAsync($"/api/notifications/channels/{id}", new { name = "钉钉（改名）" })).Content.ReadAsStringAsync();
        foreach (var text in new[] { created.ToJsonString(), listed, updated })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        }

        await using var db = await app.OpenDatabaseAsync();
        var row = await db.QuerySingleAsync<(string Url, string Secret)>(
            "SELECT url_protected, secret_protected FROM notification_channels WHERE id = @id", new { id });
        Assert.DoesNotContain(token, row.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, row.Secret, StringComparison.Ordinal);

        // The update without url or secret kept both: the robot is still reached with its token, signed with its secret.
        Assert.True((await client.TestChannelAsync(id))["delivered"]!.GetValue<bool>());
        var request = (await receiver.WaitForAsync("/robot/send")).Last(r => r.QueryValue("access_token") == token);
        var timestamp = request.QueryValue("timestamp")!;
        Assert.Equal(Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "\n" + secret))), request.QueryValue("sign"));

        var cleared = (await (await client.PutAsJsonAsync($"/api/notifications/channels/{id}", new { secret = "" })).ExpectAsync(200, 0))["data"]!;
        Assert.False(cleared["secret_set"]!.GetValue<bool>());
        Assert.Null(await db.ExecuteScalarAsync<string?>("SELECT secret_protected FROM notification_channels WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task An_smtp_password_is_kept_only_for_the_same_server_and_never_sent_in_clear()
    {
        var (client, _, _) = await app.NewUserAsync();
        const string password = "smtp-pass-never-shown";
        var smtp = new { host = "127.0.0.1", port = 2525, security = "starttls", username = "robot", password, from = "robot@example.com", to = new[] { "oncall@example.com" } };
        var created = await client.CreateChannelAsync(new { name = "mail", type = "email", events = new[] { "run_failed" }, smtp });
        var id = created["id"]!.GetValue<long>();
        Assert.True(created["smtp"]!["password_set"]!.GetValue<bool>());
        Assert.Null(created["smtp"]!["password"]);
        Assert.DoesNotContain(password, await (await client.GetAsync("/api/notifications/channels")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await using (var db = await app.OpenDatabaseAsync())
        {
            Assert.DoesNotContain(password, await db.ExecuteScalarAsync<string>("SELECT smtp_password_protected FROM notification_channels WHERE id = @id", new { id }), StringComparison.Ordinal);
        }

        // Another host without the password would send the stored one there: refused, like the warehouse password.
        var moved = await (await client.PutAsJsonAsync($"/api/notifications/channels/{id}", new
        {
            smtp = new { host = "127.0.0.2", port = 2525, security = "starttls", username = "robot", from = "robot@example.com", to = new[] { "oncall@example.com" } },
        })).ExpectAsync(422, 3001);
        Assert.Equal("smtp.password", moved["detail"]![0]!["field"]!.GetValue<string>());
        var same = (await (await client.PutAsJsonAsync($"/api/notifications/channels/{id}", new
        {
            smtp = new { host = "127.0.0.1", port = 2525, security = "ssl", username = "robot", from = "robot@example.com", to = new[] { "oncall@example.com", "quant@example.com" } },
        })).ExpectAsync(200, 0))["data"]!;
        Assert.True(same["smtp"]!["password_set"]!.GetValue<bool>());
        Assert.Equal(2, same["smtp"]!["to"]!.AsArray().Count);

        var clear = await (await client.PostAsJsonAsync("/api/notifications/channels", new
        {
            name = "clear", type = "email", events = new[] { "run_failed" },
            smtp = new { host = "127.0.0.1", port = 25, security = "none", username = "robot", password = "p", from = "robot@example.com", to = new[] { "a@example.com" } },
        })).ExpectAsync(422, 3001);
        Assert.Equal("smtp.password", clear["detail"]![0]!["field"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"name":"x","type":"teams","url":"https://example.com/h","events":["run_failed"]}""", "type")]
    [InlineData("""{"name":"x","type":"webhook","events":["run_failed"]}""", "url")]
    [InlineData("""{"name":"x","type":"webhook","url":"ftp://example.com/h","events":["run_failed"]}""", "url")]
    [InlineData("""{"name":"x","type":"webhook","url":"https://user:pw@example.com/h","events":["run_failed"]}""", "url")]
    [InlineData("""{"name":"x","type":"webhook","url":"https://example.com/h","events":["run_failed","run_exploded"]}""", "events")]
    [InlineData("""{"name":"x","type":"webhook","url":"https://example.com/h","events":[]}""", "events")]
    [InlineData("""{"name":"x","type":"webhook","url":"https://example.com/h","events":["run_failed"],"scope":"team"}""", "scope")]
    [InlineData("""{"name":"x","type":"email","events":["run_failed"]}""", "smtp")]
    [InlineData("""{"name":"x","type":"email","events":["run_failed"],"smtp":{"host":"127.0.0.1","from":"not an address","to":["a@example.com"]}}""", "smtp.from")]
    [InlineData("""{"name":"x","type":"email","events":["run_failed"],"smtp":{"host":"127.0.0.1","from":"a@example.com","to":[]}}""", "smtp.to")]
    [InlineData("""{"name":"x","type":"slack","url":"https://example.com/h","events":["run_failed"],"smtp":{"host":"127.0.0.1","from":"a@example.com","to":["b@example.com"]}}""", "smtp")]
    public async Task A_channel_that_cannot_work_is_a_422_naming_the_field(string body, string field)
    {
        var (client, _, _) = await app.NewUserAsync();
        var response = await client.PostAsync("/api/notifications/channels", new StringContent(body, Encoding.UTF8, "application/json"));
        var error = await response.ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);
        Assert.Equal(0, (await (await client.GetAsync("/api/notifications/channels")).ExpectAsync(200, 0))["data"]!["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_channels_type_cannot_change()
    {
        var (client, _, _) = await app.NewUserAsync();
        var id = await client.WebhookAsync(receiver.BaseUrl + "/hook/type", ["run_failed"]);
        var error = await (await client.PutAsJsonAsync($"/api/notifications/channels/{id}", new { type = "slack" })).ExpectAsync(422, 3001);
        Assert.Equal("type", error["detail"]![0]!["field"]!.GetValue<string>());
    }
}
