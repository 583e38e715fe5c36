using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Auth;

public sealed class LoginTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task Login_with_the_right_password_gives_working_tokens()
    {
        var (_, username, _) = await app.NewUserAsync();
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username, password = "password-123" });
        var data = (await response.ExpectAsync(200, 0))["data"]!;
        Assert.Equal("bearer", data["token_type"]!.GetValue<string>());
        Assert.Equal(1800, data["expires_in"]!.GetValue<int>());

        var me = await app.CreateClient().WithToken(data["access_token"]!.GetValue<string>()).GetAsync("/api/auth/me");
        Assert.Equal(username, (await me.ExpectAsync(200, 0))["data"]!["username"]!.GetValue<string>());
    }

    [Fact]
    public async Task Wrong_password_and_unknown_user_fail_alike_with_401_1001()
    {
        var (_, username, _) = await app.NewUserAsync();
        var client = app.CreateClient();
        var wrong = await (await client.PostAsJsonAsync("/api/auth/login", new { username, password = "wrong-password" })).ExpectAsync(401, 1001);
        var unknown = await (await client.PostAsJsonAsync("/api/auth/login", new { username = "nobody_here", password = "wrong-password" })).ExpectAsync(401, 1001);
        Assert.Equal(wrong["message"]!.GetValue<string>(), unknown["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Login_needs_both_fields()
    {
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username = "x" });
        var body = await response.ExpectAsync(422, 3001);
        Assert.Equal("password", body["detail"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Me_without_or_with_a_bad_token_is_401_1001()
    {
        await (await app.CreateClient().GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
        await (await app.CreateClient().WithToken("not.a.jwt").GetAsync("/api/auth/me")).ExpectAsync(401, 1001);

        // A token signed with another key.
        var (_, _, tokens) = await app.NewUserAsync();
        var parts = tokens.AccessToken.Split('.');
        var forged = parts[0] + "." + parts[1] + "." + new string('A', parts[2].Length);
        await (await app.CreateClient().WithToken(forged).GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task The_seeded_admin_can_log_in_with_the_configured_password()
    {
        var admin = await app.AdminAsync();
        var me = (await (await admin.GetAsync("/api/auth/me")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("admin", me["username"]!.GetValue<string>());
        Assert.Equal("admin", me["role"]!.GetValue<string>());
    }
}
