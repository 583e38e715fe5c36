using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Auth;

public sealed class ClosedRegistrationApp : AkshareWebApp
{
    public ClosedRegistrationApp() => Set("Auth:Registration", "closed");
}

public sealed class ApprovalRegistrationApp : AkshareWebApp
{
    public ApprovalRegistrationApp() => Set("Auth:Registration", "approval");
}

internal static class Registration
{
    public static object Body(string username) => new
    {
        username,
        email = username + "@example.com",
        password = "password-123",
        password_confirm = "password-123",
    };
}

public sealed class ClosedRegistrationTests(ClosedRegistrationApp app) : IClassFixture<ClosedRegistrationApp>
{
    [Fact]
    public async Task Registration_is_403_with_a_clear_message_and_creates_nobody()
    {
        var body = await (await app.CreateClient().PostAsJsonAsync("/api/auth/register", Registration.Body("closed_user"))).ExpectAsync(403, 1003);
        Assert.Contains("registration is closed", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE username = 'closed_user'"));
        await app.AdminAsync();
    }
}

public sealed class ApprovalRegistrationTests(ApprovalRegistrationApp app) : IClassFixture<ApprovalRegistrationApp>
{
    [Fact]
    public async Task A_new_account_waits_for_an_admin_and_login_says_so_until_it_is_activated()
    {
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/register", Registration.Body("waiting_user"));
        var created = await response.ExpectAsync(202, 0);
        Assert.Contains("administrator must activate", created["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(created["data"]!["is_active"]!.GetValue<bool>());
        Assert.Null(created["data"]!["access_token"]);

        var refused = await (await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username = "waiting_user", password = "password-123" })).ExpectAsync(401, 1001);
        Assert.Contains("awaiting approval", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);
        // A wrong password does not learn that the account exists and waits.
        var wrong = await (await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username = "waiting_user", password = "password-999" })).ExpectAsync(401, 1001);
        Assert.Equal("invalid username or password", wrong["message"]!.GetValue<string>());

        var admin = await app.AdminAsync();
        var users = (await (await admin.GetAsync("/api/users/?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray();
        var pending = users.Single(u => u!["username"]!.GetValue<string>() == "waiting_user")!;
        Assert.True(pending["awaiting_approval"]!.GetValue<bool>());
        var id = pending["id"]!.GetValue<long>();

        var activated = (await (await admin.PutAsJsonAsync($"/api/users/{id}", new { is_active = true })).ExpectAsync(200, 0))["data"]!;
        Assert.True(activated["is_active"]!.GetValue<bool>());
        Assert.False(activated["awaiting_approval"]!.GetValue<bool>());
        await app.CreateClient().LoginAsync("waiting_user", "password-123");

        // Deactivated later, the account is "deactivated", not "awaiting approval".
        await (await admin.PutAsJsonAsync($"/api/users/{id}", new { is_active = false })).ExpectAsync(200, 0);
        var off = await (await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username = "waiting_user", password = "password-123" })).ExpectAsync(401, 1001);
        Assert.Contains("deactivated", off["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
