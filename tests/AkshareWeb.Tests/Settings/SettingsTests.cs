using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Tests.Settings;

public sealed class SettingsTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task Execution_settings_have_defaults_and_partial_updates_persist()
    {
        var admin = await app.AdminAsync();
        var defaults = (await (await admin.GetAsync("/api/settings/")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(5, defaults["max_concurrent_tasks"]!.GetValue<int>());
        Assert.Equal(300, defaults["default_timeout"]!.GetValue<int>());
        Assert.True(defaults["retry_enabled"]!.GetValue<bool>());
        Assert.Equal(3, defaults["max_retries"]!.GetValue<int>());

        var updated = (await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 10, default_timeout = 600 })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(10, updated["max_concurrent_tasks"]!.GetValue<int>());
        Assert.Equal(600, updated["default_timeout"]!.GetValue<int>());
        Assert.Equal(3, updated["max_retries"]!.GetValue<int>());

        // Another instance on the same database sees the change without a restart.
        await using var other = await app.SecondInstanceAsync();
        var otherAdmin = await other.AdminAsync();
        var seen = (await (await otherAdmin.GetAsync("/api/settings")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(10, seen["max_concurrent_tasks"]!.GetValue<int>());
        await (await admin.PutAsJsonAsync("/api/settings/", new { retry_enabled = false, max_retries = 0 })).ExpectAsync(200, 0);
        var again = (await (await admin.GetAsync("/api/settings")).ExpectAsync(200, 0))["data"]!;
        Assert.False(again["retry_enabled"]!.GetValue<bool>());
        Assert.Equal(600, again["default_timeout"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("{\"max_concurrent_tasks\": 0}", "max_concurrent_tasks")]
    [InlineData("{\"max_concurrent_tasks\": 101}", "max_concurrent_tasks")]
    [InlineData("{\"default_timeout\": 5}", "default_timeout")]
    [InlineData("{\"max_retries\": 11}", "max_retries")]
    [InlineData("{\"max_retries\": -1}", "max_retries")]
    public async Task Out_of_range_settings_are_422_and_change_nothing(string json, string field)
    {
        var admin = await app.AdminAsync();
        var before = (await (await admin.GetAsync("/api/settings/")).ReadEnvelopeAsync())["data"]!.ToJsonString();
        var response = await admin.PutAsync("/api/settings/", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var body = await response.ExpectAsync(422, 3001);
        Assert.Equal(field, body["detail"]![0]!["field"]!.GetValue<string>());
        var after = (await (await admin.GetAsync("/api/settings/")).ReadEnvelopeAsync())["data"]!.ToJsonString();
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task A_setting_of_the_wrong_type_is_400_3002()
    {
        var admin = await app.AdminAsync();
        var response = await admin.PutAsync("/api/settings/", new StringContent("{\"max_concurrent_tasks\": \"many\"}", System.Text.Encoding.UTF8, "application/json"));
        await response.ExpectAsync(400, 3002);
    }

    [Fact]
    public async Task Database_settings_show_the_warehouse_without_its_password()
    {
        var admin = await app.AdminAsync();
        var data = (await (await admin.GetAsync("/api/settings/database")).ExpectAsync(200, 0))["data"]!;
        var expected = new MySqlConnectionStringBuilder(app.ConnectionString);
        Assert.Equal(expected.Server, data["host"]!.GetValue<string>());
        Assert.Equal((int)expected.Port, data["port"]!.GetValue<int>());
        Assert.Equal(expected.Database, data["database"]!.GetValue<string>());
        Assert.Equal(expected.UserID, data["username"]!.GetValue<string>());
        Assert.Null(data["password"]);
    }

    [Fact]
    public async Task Connection_test_reports_latency_or_the_error()
    {
        var admin = await app.AdminAsync();
        var server = new MySqlConnectionStringBuilder(app.ConnectionString);
        var good = (await (await admin.PostAsJsonAsync("/api/settings/database/test", new
        {
            host = server.Server, port = server.Port, database = server.Database, username = server.UserID, password = server.Password,
        })).ExpectAsync(200, 0))["data"]!;
        Assert.True(good["connected"]!.GetValue<bool>());
        Assert.True(good["latency_ms"]!.GetValue<long>() >= 0);

        var wrongPassword = (await (await admin.PostAsJsonAsync("/api/settings/database/test", new
        {
            host = server.Server, port = server.Port, database = server.Database, username = server.UserID, password = "wrong",
        })).ExpectAsync(200, 0))["data"]!;
        Assert.False(wrongPassword["connected"]!.GetValue<bool>());
        Assert.Contains("denied", wrongPassword["error"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);

        var invalid = await admin.PostAsJsonAsync("/api/settings/database/test", new { host = "bad host;", port = 70000, database = "x`y" });
        var body = await invalid.ExpectAsync(422, 3001);
        var fields = body["detail"]!.AsArray().Select(d => d!["field"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(["host", "port", "database", "username"], fields);
    }

    [Theory]
    [InlineData("/api/settings/database/test", "POST")]
    [InlineData("/api/settings/database", "PUT")]
    public async Task A_warehouse_password_longer_than_it_can_be_stored_is_a_422(string path, string method)
    {
        var admin = await app.AdminAsync();
        var server = new MySqlConnectionStringBuilder(app.ConnectionString);
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = JsonContent.Create(new { host = server.Server, port = server.Port, database = server.Database, username = server.UserID, password = new string('p', 100_000) }),
        };
        var error = await (await admin.SendAsync(request)).ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == "password");
    }

    [Fact]
    public async Task Changing_the_warehouse_tests_it_first_stores_the_password_encrypted_and_applies_everywhere()
    {
        var admin = await app.AdminAsync();
        var server = new MySqlConnectionStringBuilder(app.ConnectionString);
        var before = (await (await admin.GetAsync("/api/settings/database")).ReadEnvelopeAsync())["data"]!.ToJsonString();

        var refused = await admin.PutAsJsonAsync("/api/settings/database", new
        {
            host = server.Server, port = server.Port, database = server.Database, username = server.UserID, password = "wrong",
        });
        await refused.ExpectAsync(400, 5001);
        Assert.Equal(before, (await (await admin.GetAsync("/api/settings/database")).ReadEnvelopeAsync())["data"]!.ToJsonString());

        var warehouse = await TestDatabase.CreateAsync("awwh");
        try
        {
            var target = new MySqlConnectionStringBuilder(warehouse);
            await using var other = await app.SecondInstanceAsync();
            var otherAdmin = await other.AdminAsync();
            var saved = (await (await admin.PutAsJsonAsync("/api/settings/database", new
            {
                host = target.Server, port = target.Port, database = target.Database, username = target.UserID, password = target.Password,
            })).ExpectAsync(200, 0))["data"]!;
            Assert.Equal(target.Database, saved["database"]!.GetValue<string>());

            await using var db = await app.OpenDatabaseAsync();
            var stored = await db.ExecuteScalarAsync<string>("SELECT value FROM app_settings WHERE name = 'warehouse_connection'");
            Assert.DoesNotContain(target.Password!, stored!, StringComparison.Ordinal);
            Assert.DoesNotContain(target.Database, stored!, StringComparison.Ordinal);

            var deadline = Deadline.In(15);
            string seen;
            do
            {
                seen = (await (await otherAdmin.GetAsync("/api/settings/database")).ReadEnvelopeAsync())["data"]!["database"]!.GetValue<string>();
                if (seen == target.Database) break;
                await Task.Delay(200);
            }
            while (!deadline.Passed);
            Assert.Equal(target.Database, seen);

            // Without a password the stored one is kept.
            await (await admin.PutAsJsonAsync("/api/settings/database", new
            {
                host = server.Server, port = server.Port, database = server.Database, username = server.UserID,
            })).ExpectAsync(200, 0);
        }
        finally
        {
            await TestDatabase.DropAsync(warehouse);
        }
    }

    [Fact]
    public async Task Settings_are_for_admins_only()
    {
        var (user, _, _) = await app.NewUserAsync();
        await (await user.GetAsync("/api/settings/")).ExpectAsync(403, 1003);
        await (await user.PutAsJsonAsync("/api/settings/", new { max_retries = 1 })).ExpectAsync(403, 1003);
        await (await user.GetAsync("/api/settings/database")).ExpectAsync(403, 1003);
        await (await app.CreateClient().GetAsync("/api/settings/")).ExpectAsync(401, 1001);
    }
}
