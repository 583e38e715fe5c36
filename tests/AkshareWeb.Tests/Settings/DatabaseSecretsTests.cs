using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using MySqlConnector;

namespace AkshareWeb.Tests.Settings;

public sealed class DatabaseSecretsTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private async Task<string> WarehouseAsync(HttpClient admin) =>
        (await (await admin.GetAsync("/api/settings/database")).ExpectAsync(200, 0))["data"]!.ToJsonString();

    [Fact]
    public async Task The_stored_password_is_reused_only_for_the_same_host_port_and_user()
    {
        var admin = await app.AdminAsync();
        var server = new MySqlConnectionStringBuilder(app.ConnectionString);
        var before = await WarehouseAsync(admin);

        object[] elsewhere =
        [
            new { host = "192.0.2.10", port = server.Port, database = server.Database, username = server.UserID },
            new { host = server.Server, port = server.Port + 1, database = server.Database, username = server.UserID },
            new { host = server.Server, port = server.Port, database = server.Database, username = "root" },
        ];
        foreach (var body in elsewhere)
        {
            var refused = await (await admin.PutAsJsonAsync("/api/settings/database", body)).ExpectAsync(422, 3001);
            Assert.Equal("password", refused["detail"]![0]!["field"]!.GetValue<string>());
            Assert.Equal(before, await WarehouseAsync(admin));
        }

        // Same server and user, another database: the stored password goes with it.
        var other = await TestDatabase.CreateAsync("awpw");
        try
        {
            var target = new MySqlConnectionStringBuilder(other);
            var saved = (await (await admin.PutAsJsonAsync("/api/settings/database", new
            {
                host = server.Server, port = server.Port, database = target.Database, username = server.UserID,
            })).ExpectAsync(200, 0))["data"]!;
            Assert.Equal(target.Database, saved["database"]!.GetValue<string>());
        }
        finally
        {
            await (await admin.PutAsJsonAsync("/api/settings/database", new
            {
                host = server.Server, port = server.Port, database = server.Database, username = server.UserID,
            })).ExpectAsync(200, 0);
            await TestDatabase.DropAsync(other);
        }
    }

    private async Task<JsonNode> ProbeAsync(HttpClient admin, object body) =>
        (await (await admin.PostAsJsonAsync("/api/settings/database/test", body)).ExpectAsync(200, 0))["data"]!;

    [Fact]
    public async Task The_connection_test_without_a_password_uses_the_stored_one_for_the_same_server_and_user_only()
    {
        var admin = await app.AdminAsync();
        var server = new MySqlConnectionStringBuilder(app.ConnectionString);

        // What the console sends: the location it was shown, no password (it never learns one).
        var same = await ProbeAsync(admin, new { host = server.Server, port = server.Port, database = server.Database, username = server.UserID });
        Assert.True(same["connected"]!.GetValue<bool>(), same.ToJsonString());

        var otherUser = await ProbeAsync(admin, new { host = server.Server, port = server.Port, database = server.Database, username = "console_nobody" });
        Assert.False(otherUser["connected"]!.GetValue<bool>());
        Assert.StartsWith("access denied", otherUser["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_connection_test_answers_a_category_never_the_servers_words()
    {
        var admin = await app.AdminAsync();
        var server = new MySqlConnectionStringBuilder(app.ConnectionString);

        var denied = await ProbeAsync(admin, new { host = server.Server, port = server.Port, database = server.Database, username = server.UserID, password = "wrong" });
        Assert.False(denied["connected"]!.GetValue<bool>());
        Assert.StartsWith("access denied", denied["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(server.UserID, denied["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var unknown = await ProbeAsync(admin, new { host = server.Server, port = server.Port, database = "no_such_db_4711", username = server.UserID, password = server.Password });
        Assert.Equal("unknown database", unknown["error"]!.GetValue<string>());

        // A port nobody listens on.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var refused = await ProbeAsync(admin, new { host = "127.0.0.1", port = closedPort, database = "x", username = "u", password = "p" });
        Assert.Equal("connection refused or host unreachable", refused["error"]!.GetValue<string>());

        // A port that takes the connection and never says a word (not a MySQL server).
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var quiet = await ProbeAsync(admin, new { host = "127.0.0.1", port = ((IPEndPoint)silent.LocalEndpoint).Port, database = "x", username = "u", password = "p" });
            Assert.StartsWith("timed out", quiet["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            silent.Stop();
        }
    }
}
