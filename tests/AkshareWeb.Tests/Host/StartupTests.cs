using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;

namespace AkshareWeb.Tests.Host;

/// <summary>An app whose log lines the test can read, and whose admin password is left to be generated.</summary>
public sealed class GeneratedAdminApp : AkshareWebApp
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Log => Logs.Lines;

    public GeneratedAdminApp() => Set("Admin:Password", "");
}

public sealed class GeneratedAdminTests(GeneratedAdminApp app) : IClassFixture<GeneratedAdminApp>
{
    [Fact]
    public async Task Without_a_configured_password_the_first_admin_gets_a_random_one_printed_once()
    {
        _ = app.Server; // start
        var line = Assert.Single(app.Log, l => l.Contains("generated password", StringComparison.Ordinal));
        var password = line.Split("generated password ")[1].Split(' ')[0];
        Assert.True(password.Length >= 20);
        await app.CreateClient().LoginAsync("admin", password);

        // A second start on the same database creates nothing and prints no password.
        await using var second = await app.SecondInstanceAsync();
        _ = second.Server;
        Assert.Single(app.Log, l => l.Contains("generated password", StringComparison.Ordinal));
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM users WHERE role = 'admin'"));
    }
}

public sealed class ConcurrentStartTests
{
    [Fact]
    public async Task Two_instances_starting_together_on_an_empty_database_migrate_it_once()
    {
        var connectionString = await TestDatabase.CreateAsync();
        var apps = Enumerable.Range(0, 2).Select(_ => new SharedDatabaseApp(connectionString)).ToList();
        try
        {
            foreach (var app in apps) await app.InitializeAsync();
            // Server start runs the migrations; both at once.
            await Task.WhenAll(apps.Select(app => Task.Run(() => app.Server)));

            foreach (var app in apps)
            {
                Assert.Equal(200, (int)(await app.CreateClient().GetAsync("/health/ready")).StatusCode);
                await app.AdminAsync();
            }

            await using var db = new MySqlConnection(connectionString);
            var versions = (await db.QueryAsync<int>("SELECT version FROM schema_migrations")).ToList();
            Assert.Equal(versions.Distinct().Count(), versions.Count);
            Assert.Contains(1, versions);
            Assert.Equal(1, await db.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM users WHERE role = 'admin'"));
        }
        finally
        {
            foreach (var app in apps) await app.DisposeAsync();
            await TestDatabase.DropAsync(connectionString);
        }
    }

    [Fact]
    public async Task An_instance_starts_while_another_database_on_the_server_holds_its_migration_and_catalogue_locks()
    {
        // Another installation (or an older version, whose lock names were server-wide) is mid-migration and
        // mid-import on the same server: this one must not wait 120 s for it and then refuse to start.
        var other = await TestDatabase.CreateAsync();
        await using var holder = new MySqlConnection(await TestDatabase.ServerAsync());
        await holder.OpenAsync();
        var otherName = new MySqlConnectionStringBuilder(other).Database;
        foreach (var name in new[] { "akshareweb.schema", "akshareweb.scripts.scan",
                     AkshareWeb.Features.Common.ServerLockName.For(otherName, "schema"),
                     AkshareWeb.Features.Interfaces.InterfaceCatalog.LockName(otherName) })
        {
            Assert.Equal(1, await holder.ExecuteScalarAsync<int>("SELECT GET_LOCK(@name, 0)", new { name }));
        }

        var app = new AkshareWebApp();
        try
        {
            await app.InitializeAsync();
            _ = app.Server;
            Assert.Equal(200, (int)(await app.CreateClient().GetAsync("/health/ready")).StatusCode);
            await using var db = await app.OpenDatabaseAsync();
            Assert.True(await db.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM interfaces") > 0);
        }
        finally
        {
            await ((IAsyncLifetime)app).DisposeAsync();
            await TestDatabase.DropAsync(other);
        }
    }

    private sealed class SharedDatabaseApp : AkshareWebApp
    {
        public SharedDatabaseApp(string connectionString) => UseDatabase(connectionString);
    }
}
