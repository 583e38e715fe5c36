using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Auth;

public sealed class ChangePasswordTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task A_user_changes_their_password_and_their_other_sessions_end_while_this_one_stays()
    {
        var (client, username, tokens) = await app.NewUserAsync();
        var other = await app.SignedInAsync(username, "password-123");
        var otherTokens = await app.CreateClient().LoginAsync(username, "password-123");

        var response = await client.PutAsJsonAsync("/api/auth/password", new { current_password = "password-123", new_password = "brand-new-pass-9" });
        await response.ExpectAsync(200, 0);

        // This session goes on: its access token and its refresh token still work.
        await (await client.GetAsync("/api/auth/me")).ExpectAsync(200, 0);
        await (await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = tokens.RefreshToken })).ExpectAsync(200, 0);

        // Every other session has ended, access and refresh tokens alike.
        await (await other.GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
        await (await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = otherTokens.RefreshToken })).ExpectAsync(401, 1001);

        // Only the new password logs in.
        await (await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username, password = "password-123" })).ExpectAsync(401, 1001);
        await app.CreateClient().LoginAsync(username, "brand-new-pass-9");

        await using var db = await app.OpenDatabaseAsync();
        var reasons = (await db.QueryAsync<string>(
            "SELECT s.revoked_reason FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE u.username = @username AND s.revoked_at IS NOT NULL",
            new { username })).ToList();
        Assert.Equal(2, reasons.Count);
        Assert.All(reasons, r => Assert.Equal("password changed", r));
    }

    [Fact]
    public async Task A_wrong_current_password_or_a_weak_new_one_is_422_and_changes_nothing()
    {
        var (client, username, _) = await app.NewUserAsync();
        var wrong = await (await client.PutAsJsonAsync("/api/auth/password", new { current_password = "not-my-password", new_password = "brand-new-pass-9" })).ExpectAsync(422, 3001);
        Assert.Equal("current_password", wrong["detail"]![0]!["field"]!.GetValue<string>());

        var weak = await (await client.PutAsJsonAsync("/api/auth/password", new { current_password = "password-123", new_password = "short" })).ExpectAsync(422, 3001);
        Assert.Equal("new_password", weak["detail"]![0]!["field"]!.GetValue<string>());

        var same = await (await client.PutAsJsonAsync("/api/auth/password", new { current_password = "password-123", new_password = "password-123" })).ExpectAsync(422, 3001);
        Assert.Equal("new_password", same["detail"]![0]!["field"]!.GetValue<string>());

        await app.CreateClient().LoginAsync(username, "password-123");
        await (await app.CreateClient().PutAsJsonAsync("/api/auth/password", new { current_password = "a", new_password = "brand-new-pass-9" })).ExpectAsync(401, 1001);
    }
}
