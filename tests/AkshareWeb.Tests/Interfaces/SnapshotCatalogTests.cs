using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Interfaces;

/// <summary>The app as a newcomer starts it: no registry configured, so the bundled AKShare snapshot fills the catalogue.</summary>
public sealed class SnapshotApp : CollectingApp
{
    public SnapshotApp() => Set("Catalog:RegistryPath", null);
}

public sealed class SnapshotCatalogTests(SnapshotApp app) : IClassFixture<SnapshotApp>
{
    [Fact]
    public async Task With_nothing_configured_the_catalogue_lists_every_interface_of_the_bundled_snapshot()
    {
        var (client, _, _) = await app.NewUserAsync();
        var all = (await (await client.GetAsync("/api/interfaces/?page_size=100")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1090, all["total"]!.GetValue<long>());

        var categories = (await (await client.GetAsync("/api/interfaces/categories")).ExpectAsync(200, 0))["data"]!.AsArray()
            .ToDictionary(c => c!["name"]!.GetValue<string>(), c => c!["interface_count"]!.GetValue<long>());
        Assert.Equal(388, categories["stocks"]);
        Assert.Equal(215, categories["macro"]);
        Assert.Equal(94, categories["indexes"]);
        Assert.Equal(46, categories["options"]);
        Assert.DoesNotContain("stock", categories.Keys);
        Assert.Equal(1090, categories.Values.Sum());
    }

    [Fact]
    public async Task A_snapshot_interface_has_the_parameters_and_defaults_of_its_code()
    {
        var (client, _, _) = await app.NewUserAsync();
        long id;
        await using (var db = await app.OpenDatabaseAsync())
        {
            id = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'option_sse_daily_sina'");
        }

        var detail = (await (await client.GetAsync($"/api/interfaces/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("options", detail["category"]!.GetValue<string>());
        Assert.True(detail["in_registry"]!.GetValue<bool>());
        var parameters = (await (await client.GetAsync($"/api/interfaces/{id}/parameters")).ExpectAsync(200, 0))["data"]!.AsArray();
        var symbol = Assert.Single(parameters)!;
        Assert.Equal("symbol", symbol["name"]!.GetValue<string>());
        Assert.Equal("10003889", symbol["default_value"]!.GetValue<string>());
        Assert.False(symbol["required"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Sync_with_nothing_configured_imports_the_snapshot_again()
    {
        var admin = await app.AdminAsync();
        var sync = (await (await admin.PostAsync("/api/interfaces/sync", null)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1090, sync["total"]!.GetValue<int>());
        Assert.Equal(0, sync["added"]!.GetValue<int>());
        Assert.Equal(0, sync["removed"]!.GetValue<int>());
        Assert.Equal("1.18.94", sync["akshare_version"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_restart_on_the_same_snapshot_rewrites_nothing()
    {
        // The first instance as it is once started, whether or not another test of the class started it before.
        _ = app.Server;
        // The scan at start touches the rows of the interfaces scripts use; the snapshot import would touch all.
        DateTime before;
        await using (var db = await app.OpenDatabaseAsync())
        {
            before = await db.ExecuteScalarAsync<DateTime>("SELECT MAX(updated_at) FROM interfaces WHERE used_by_scripts = 0");
        }

        await using var second = await app.SecondInstanceAsync();
        var (client, _, _) = await second.NewUserAsync();
        Assert.Equal(1090, (await (await client.GetAsync("/api/interfaces/")).ExpectAsync(200, 0))["data"]!["total"]!.GetValue<long>());
        await using (var db = await app.OpenDatabaseAsync())
        {
            Assert.Equal(before, await db.ExecuteScalarAsync<DateTime>("SELECT MAX(updated_at) FROM interfaces WHERE used_by_scripts = 0"));
        }
    }

    [Fact]
    public async Task The_last_page_and_a_search_of_the_full_catalogue_answer()
    {
        var (client, _, _) = await app.NewUserAsync();
        await (await client.GetAsync("/api/interfaces/")).ExpectAsync(200, 0);
        // How fast they answer is not bounded here: a loaded machine is slow at anything, and timing claims belong in bench/.
        var last = (await (await client.GetAsync("/api/interfaces/?page=11&page_size=100")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(90, last["items"]!.AsArray().Count);
        var found = (await (await client.GetAsync("/api/interfaces/?keyword=hist&category=stocks&page_size=100")).ExpectAsync(200, 0))["data"]!;
        Assert.Contains(found["items"]!.AsArray(), i => i!["name"]!.GetValue<string>() == "stock_zh_a_hist");
        await (await client.GetAsync("/api/interfaces/categories")).ExpectAsync(200, 0);
    }
}
