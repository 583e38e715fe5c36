using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Auth;

public sealed class RegisterTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private static object Body(string username, string? email = null, string password = "password-123", string? confirm = null) => new
    {
        username,
        email = email ?? username + "@example.com",
        password,
        password_confirm = confirm ?? password,
    };

    [Fact]
    public async Task Register_answers_201_with_tokens_and_stores_only_a_password_hash()
    {
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/register", Body("alice_01"));
        var body = await response.ExpectAsync(201, 0);

        var data = body["data"]!;
        Assert.Equal("bearer", data["token_type"]!.GetValue<string>());
        Assert.Equal(1800, data["expires_in"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(data["access_token"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(data["refresh_token"]!.GetValue<string>()));

        await using var db = await app.OpenDatabaseAsync();
        var row = await db.QuerySingleAsync<(string Role, string Hash)>("SELECT role, password_hash FROM users WHERE username = 'alice_01'");
        Assert.Equal("user", row.Role);
        Assert.DoesNotContain("password-123", row.Hash, StringComparison.Ordinal);
        var refreshHashes = await db.QueryAsync<byte[]>("SELECT token_hash FROM refresh_tokens");
        Assert.DoesNotContain(refreshHashes, h => System.Text.Encoding.UTF8.GetString(h) == data["refresh_token"]!.GetValue<string>());

        var me = await app.CreateClient().WithToken(data["access_token"]!.GetValue<string>()).GetAsync("/api/auth/me");
        var profile = (await me.ExpectAsync(200, 0))["data"]!;
        Assert.Equal("alice_01", profile["username"]!.GetValue<string>());
        Assert.Equal("alice_01@example.com", profile["email"]!.GetValue<string>());
        Assert.Equal("user", profile["role"]!.GetValue<string>());
        Assert.True(profile["is_active"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("ab", "ok@example.com", "password-123", null, "username")]
    [InlineData("has space", "ok@example.com", "password-123", null, "username")]
    [InlineData("名字名字", "ok@example.com", "password-123", null, "username")]
    [InlineData("a23456789012345678901234567890123", "ok@example.com", "password-123", null, "username")]
    [InlineData("valid_name", "not-an-email", "password-123", null, "email")]
    [InlineData("valid_name", null, "short", null, "password")]
    [InlineData("valid_name", null, "password-123", "password-124", "password_confirm")]
    public async Task Register_rejects_bad_input_with_422_naming_the_field(string username, string? email, string password, string? confirm, string field)
    {
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/register", Body(username, email, password, confirm));
        var body = await response.ExpectAsync(422, 3001);
        var fields = body["detail"]!.AsArray().Select(d => d!["field"]!.GetValue<string>()).ToList();
        Assert.Equal([field], fields);
    }

    [Fact]
    public async Task Register_with_missing_fields_names_each_of_them()
    {
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/register", new { });
        var body = await response.ExpectAsync(422, 3001);
        var fields = body["detail"]!.AsArray().Select(d => d!["field"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(["username", "email", "password", "password_confirm"], fields);
    }

    [Theory]
    [InlineData("{\"username\": \"x\"")]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"username\": 5}")]
    public async Task Malformed_json_is_400_with_3002(string json)
    {
        var response = await app.CreateClient().PostAsync("/api/auth/register",
            new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        await response.ExpectAsync(400, 3002);
    }

    [Fact]
    public async Task Username_and_email_are_unique_case_insensitively_with_409_2002()
    {
        var client = app.CreateClient();
        (await client.PostAsJsonAsync("/api/auth/register", Body("CaseUser", "Case@Example.com"))).EnsureSuccessStatusCode();

        var sameName = await client.PostAsJsonAsync("/api/auth/register", Body("caseuser", "other@example.com"));
        var nameBody = await sameName.ExpectAsync(409, 2002);
        Assert.Equal("username", nameBody["detail"]![0]!["field"]!.GetValue<string>());

        var sameEmail = await client.PostAsJsonAsync("/api/auth/register", Body("case_user_2", "case@EXAMPLE.com"));
        var emailBody = await sameEmail.ExpectAsync(409, 2002);
        Assert.Equal("email", emailBody["detail"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_username_have_exactly_one_winner()
    {
        var attempts = Enumerable.Range(0, 12).Select(i =>
            app.CreateClient().PostAsJsonAsync("/api/auth/register", Body("racer", $"racer{i}@example.com")));
        var responses = await Task.WhenAll(attempts);

        Assert.Equal(1, responses.Count(r => (int)r.StatusCode == 201));
        Assert.Equal(11, responses.Count(r => (int)r.StatusCode == 409));
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM users WHERE username = 'racer'"));
    }
}
