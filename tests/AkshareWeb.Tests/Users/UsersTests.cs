using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Users;

public sealed class UsersTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private async Task<long> IdOfAsync(string username)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM users WHERE username = @username", new { username });
    }

    [Fact]
    public async Task List_pages_and_filters_users()
    {
        var admin = await app.AdminAsync();
        var prefix = "lst" + Guid.NewGuid().ToString("N")[..6];
        for (var i = 0; i < 5; i++) await app.NewUserAsync($"{prefix}_{i}");

        var page = (await (await admin.GetAsync($"/api/users/?username={prefix}&page=2&page_size=2")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(5, page["total"]!.GetValue<long>());
        Assert.Equal(2, page["page"]!.GetValue<int>());
        Assert.Equal(2, page["page_size"]!.GetValue<int>());
        Assert.Equal(3, page["total_pages"]!.GetValue<int>());
        Assert.Equal([$"{prefix}_2", $"{prefix}_3"], page["items"]!.AsArray().Select(u => u!["username"]!.GetValue<string>()));
        var first = page["items"]![0]!;
        Assert.NotNull(first["created_at"]);
        Assert.Null(first["password_hash"]);

        var byEmail = (await (await admin.GetAsync($"/api/users?email={prefix}_4@")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, byEmail["total"]!.GetValue<long>());

        var admins = (await (await admin.GetAsync("/api/users/?role=admin")).ExpectAsync(200, 0))["data"]!;
        Assert.All(admins["items"]!.AsArray(), u => Assert.Equal("admin", u!["role"]!.GetValue<string>()));

        // LIKE wildcards in the filter match themselves only.
        var wildcard = (await (await admin.GetAsync("/api/users/?username=%25")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(0, wildcard["total"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("page=0", "page")]
    [InlineData("page_size=101", "page_size")]
    [InlineData("page_size=0", "page_size")]
    [InlineData("role=root", "role")]
    public async Task List_rejects_bad_paging_and_filters_with_422(string query, string field)
    {
        var admin = await app.AdminAsync();
        var body = await (await admin.GetAsync("/api/users/?" + query)).ExpectAsync(422, 3001);
        Assert.Equal(field, body["detail"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_page_number_that_is_not_a_number_is_400_3002()
    {
        var admin = await app.AdminAsync();
        await (await admin.GetAsync("/api/users/?page=abc")).ExpectAsync(400, 3002);
    }

    [Fact]
    public async Task Get_returns_the_user_or_404()
    {
        var admin = await app.AdminAsync();
        var (_, username, _) = await app.NewUserAsync();
        var id = await IdOfAsync(username);
        var user = (await (await admin.GetAsync($"/api/users/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(username, user["username"]!.GetValue<string>());
        Assert.Equal(id, user["id"]!.GetValue<long>());
        await (await admin.GetAsync("/api/users/999999")).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Update_changes_email_and_role_and_checks_them()
    {
        var admin = await app.AdminAsync();
        var (_, username, _) = await app.NewUserAsync();
        var id = await IdOfAsync(username);

        var updated = (await (await admin.PutAsJsonAsync($"/api/users/{id}", new { email = "new_" + username + "@example.com", role = "admin" })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("new_" + username + "@example.com", updated["email"]!.GetValue<string>());
        Assert.Equal("admin", updated["role"]!.GetValue<string>());
        Assert.True(updated["is_active"]!.GetValue<bool>());

        var other = await app.NewUserAsync();
        var duplicate = await admin.PutAsJsonAsync($"/api/users/{id}", new { email = other.Username.ToUpperInvariant() + "@example.com" });
        await duplicate.ExpectAsync(409, 2002);
        await (await admin.PutAsJsonAsync($"/api/users/{id}", new { role = "root" })).ExpectAsync(422, 3001);
        await (await admin.PutAsJsonAsync($"/api/users/{id}", new { email = "nope" })).ExpectAsync(422, 3001);
        await (await admin.PutAsJsonAsync("/api/users/999999", new { role = "user" })).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Promotion_takes_effect_on_the_users_current_token()
    {
        var admin = await app.AdminAsync();
        var (client, username, _) = await app.NewUserAsync();
        await (await client.GetAsync("/api/users/")).ExpectAsync(403, 1003);
        await (await admin.PutAsJsonAsync($"/api/users/{await IdOfAsync(username)}", new { role = "admin" })).ExpectAsync(200, 0);
        await (await client.GetAsync("/api/users/")).ExpectAsync(200, 0);
    }

    [Fact]
    public async Task A_deactivated_user_can_neither_use_a_token_nor_log_in()
    {
        var admin = await app.AdminAsync();
        var (client, username, tokens) = await app.NewUserAsync();
        await (await admin.PutAsJsonAsync($"/api/users/{await IdOfAsync(username)}", new { is_active = false })).ExpectAsync(200, 0);

        await (await client.GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
        var login = await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username, password = "password-123" });
        await login.ExpectAsync(401, 1001);
        var refresh = await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = tokens.RefreshToken });
        await refresh.ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task Password_reset_revokes_the_users_tokens_and_sets_the_new_password()
    {
        var admin = await app.AdminAsync();
        var (client, username, tokens) = await app.NewUserAsync();
        var id = await IdOfAsync(username);

        await (await admin.PostAsJsonAsync($"/api/users/{id}/reset-password", new { new_password = "short" })).ExpectAsync(422, 3001);
        await (await admin.PostAsJsonAsync($"/api/users/{id}/reset-password", new { new_password = "brand-new-pass" })).ExpectAsync(200, 0);

        await (await client.GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
        var refresh = await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = tokens.RefreshToken });
        await refresh.ExpectAsync(401, 1001);
        var oldPassword = await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username, password = "password-123" });
        await oldPassword.ExpectAsync(401, 1001);
        await app.CreateClient().LoginAsync(username, "brand-new-pass");
        await (await admin.PostAsJsonAsync("/api/users/999999/reset-password", new { new_password = "brand-new-pass" })).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Delete_removes_a_user_but_never_yourself()
    {
        var admin = await app.AdminAsync();
        var (client, username, _) = await app.NewUserAsync();
        var id = await IdOfAsync(username);

        await (await admin.DeleteAsync($"/api/users/{id}")).ExpectAsync(200, 0);
        await (await admin.GetAsync($"/api/users/{id}")).ExpectAsync(404, 2001);
        await (await client.GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
        await (await admin.DeleteAsync($"/api/users/{id}")).ExpectAsync(404, 2001);

        var self = await admin.DeleteAsync($"/api/users/{await IdOfAsync("admin")}");
        await self.ExpectAsync(409, -1);
    }

    [Fact]
    public async Task Normal_users_get_403_1003_on_every_user_endpoint()
    {
        var (client, _, _) = await app.NewUserAsync();
        await (await client.GetAsync("/api/users/")).ExpectAsync(403, 1003);
        await (await client.GetAsync("/api/users/1")).ExpectAsync(403, 1003);
        await (await client.PutAsJsonAsync("/api/users/1", new { role = "user" })).ExpectAsync(403, 1003);
        await (await client.DeleteAsync("/api/users/1")).ExpectAsync(403, 1003);
        await (await client.PostAsJsonAsync("/api/users/1/reset-password", new { new_password = "whatever-1" })).ExpectAsync(403, 1003);
    }
}

/// <summary>The last-admin rule needs a database where the seeded admin is the only one.</summary>
public sealed class LastAdminTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task The_last_active_admin_cannot_be_demoted_deactivated_or_deleted()
    {
        var admin = await app.AdminAsync();
        await using var db = await app.OpenDatabaseAsync();
        var adminId = await db.ExecuteScalarAsync<long>("SELECT id FROM users WHERE username = 'admin'");

        await (await admin.PutAsJsonAsync($"/api/users/{adminId}", new { role = "user" })).ExpectAsync(409, -1);
        await (await admin.PutAsJsonAsync($"/api/users/{adminId}", new { is_active = false })).ExpectAsync(409, -1);

        // With a second admin, the first may step down; the second then is the last one.
        var (_, second, _) = await app.NewUserAsync();
        var secondId = await db.ExecuteScalarAsync<long>("SELECT id FROM users WHERE username = @second", new { second });
        await (await admin.PutAsJsonAsync($"/api/users/{secondId}", new { role = "admin" })).ExpectAsync(200, 0);
        var secondClient = await app.SignedInAsync(second, "password-123");
        await (await secondClient.DeleteAsync($"/api/users/{adminId}")).ExpectAsync(200, 0);
        await (await secondClient.PutAsJsonAsync($"/api/users/{secondId}", new { role = "user" })).ExpectAsync(409, -1);
    }
}
