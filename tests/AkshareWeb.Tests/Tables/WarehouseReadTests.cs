using AkshareWeb.Tests.Infrastructure;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// The service with <c>ConnectionStrings:WarehouseRead</c> naming a second database that stands in for another node
/// of the cluster: it holds the same table with other values, so an answer shows where it was read.
/// </summary>
public sealed class ReadNodeApp : CollectingApp
{
    public string ReadNode { get; private set; } = "";

    public override async Task InitializeAsync()
    {
        ReadNode = await TestDatabase.CreateAsync("awread");
        // Only the database: whatever an entry leaves out (server, user, password) is the warehouse's.
        Set("ConnectionStrings:WarehouseRead", $"Database={new MySqlConnectionStringBuilder(ReadNode).Database}");
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (ReadNode.Length > 0) await TestDatabase.DropAsync(ReadNode);
    }
}

/// <summary>The same, with a read node that does not answer.</summary>
public sealed class DeadReadNodeApp : CollectingApp
{
    public DeadReadNodeApp() => Set("ConnectionStrings:WarehouseRead:0", "Server=127.0.0.1;Port=1;Connection Timeout=2");
}

public sealed class WarehouseReadTests(ReadNodeApp app) : IClassFixture<ReadNodeApp>
{
    [Fact]
    public async Task Data_pages_and_exports_read_on_the_read_node_and_runs_write_the_warehouse()
    {
        app.AkTools.Rows("macro_china_cpi",
            new Dictionary<string, object?> { ["月份"] = "2024年01月份", ["全国-当月"] = 99.2 },
            new Dictionary<string, object?> { ["月份"] = "2024年02月份", ["全国-当月"] = 100.7 });
        var (client, _, _) = await app.NewUserAsync();
        var run = await app.DownloadAsync("macro_china_cpi", client: client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());

        // The read node's copy of the table: the same rows, other values.
        var warehouse = new MySqlConnectionStringBuilder(app.ConnectionString).Database;
        await using (var node = new MySqlConnection(app.ReadNode))
        {
            // (Galera refuses CREATE TABLE ... LIKE across databases under strict replication: the definition is replayed.)
            var definition = (await node.QuerySingleAsync<(string Table, string Sql)>($"SHOW CREATE TABLE `{warehouse}`.ak_macro_china_cpi")).Sql;
            await node.ExecuteAsync(definition);
            await node.ExecuteAsync($"INSERT INTO ak_macro_china_cpi SELECT * FROM `{warehouse}`.ak_macro_china_cpi");
            await node.ExecuteAsync("UPDATE ak_macro_china_cpi SET `全国-当月` = 42.5");
        }

        var page = (await (await client.GetAsync("/api/tables/ak_macro_china_cpi/data?sort_by=id")).ExpectAsync(200, 0))["data"]!;
        var values = page["items"]!.AsArray().Select(r => r!["全国-当月"]!.GetValue<double>()).ToList();
        Assert.Equal([42.5, 42.5], values);
        Assert.Equal(2, page["total"]!.GetValue<long>());

        var csv = await (await client.GetAsync("/api/tables/ak_macro_china_cpi/export?format=csv&sort_by=id")).Content.ReadAsStringAsync();
        Assert.Contains("42.5", csv, StringComparison.Ordinal);
        Assert.DoesNotContain("99.2", csv, StringComparison.Ordinal);

        // The run wrote the warehouse, not the read node.
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal([99.2, 100.7], (await db.QueryAsync<double>("SELECT `全国-当月` FROM ak_macro_china_cpi ORDER BY id")).ToList());
    }
}

public sealed class DeadReadNodeTests(DeadReadNodeApp app) : IClassFixture<DeadReadNodeApp>
{
    [Fact]
    public async Task A_read_node_that_does_not_answer_is_passed_over_for_the_warehouse()
    {
        app.AkTools.Rows("macro_china_cpi", new Dictionary<string, object?> { ["月份"] = "2024年01月份", ["全国-当月"] = 99.2 });
        var (client, _, _) = await app.NewUserAsync();
        Assert.Equal("completed", (await app.DownloadAsync("macro_china_cpi", client: client))["status"]!.GetValue<string>());

        var page = (await (await client.GetAsync("/api/tables/ak_macro_china_cpi/data")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(99.2, page["items"]![0]!["全国-当月"]!.GetValue<double>());
        var export = await client.GetAsync("/api/tables/ak_macro_china_cpi/export?format=csv");
        Assert.Equal(200, (int)export.StatusCode);
        Assert.Contains("99.2", await export.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
