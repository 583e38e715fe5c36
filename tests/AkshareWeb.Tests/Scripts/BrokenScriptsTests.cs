using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;

namespace AkshareWeb.Tests.Scripts;

/// <summary>A registry import that drops a script's interface or one of its parameters marks the script broken.
/// Its own fixture: the tests rewrite the registry file.</summary>
public sealed class BrokenScriptsTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private async Task SyncAsync(Action<JsonArray> change)
    {
        var registry = JsonNode.Parse(TestScripts.Registry)!;
        registry["akshare_version"] = "1.18.99";
        change(registry["interfaces"]!.AsArray());
        await File.WriteAllTextAsync(app.RegistryFile, registry.ToJsonString());
        var admin = await app.AdminAsync();
        await (await admin.PostAsync("/api/interfaces/sync", null)).ExpectAsync(200, 0);
    }

    private static JsonNode Entry(JsonArray list, string name) => list.First(i => i!["name"]!.GetValue<string>() == name)!;

    private async Task<JsonNode> ListedAsync(HttpClient client, string scriptId) =>
        (await (await client.GetAsync("/api/scripts/?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray()
        .First(i => i!["script_id"]!.GetValue<string>() == scriptId)!;

    [Fact]
    public async Task An_interface_the_registry_drops_breaks_its_script_and_its_runs_fail_without_calling_aktools()
    {
        var (client, _, _) = await app.NewUserAsync();
        Assert.False((await ListedAsync(client, "stock_zh_a_hist"))["broken"]!.GetValue<bool>());
        var task = (await client.CreateAsync(TaskTestKit.Daily("000777", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        try
        {
            await SyncAsync(list => list.Remove(Entry(list, "stock_zh_a_hist")));
            var listed = await ListedAsync(client, "stock_zh_a_hist");
            Assert.True(listed["broken"]!.GetValue<bool>());
            Assert.Equal("AKShare 1.18.99 has no interface stock_zh_a_hist", listed["broken_reason"]!.GetValue<string>());
            var detail = (await (await client.GetAsync("/api/scripts/stock_zh_a_hist")).ExpectAsync(200, 0))["data"]!;
            Assert.True(detail["broken"]!.GetValue<bool>());

            app.AkTools.Calls.Clear();
            var started = (await (await client.PostAsync($"/api/tasks/{task}/execute", null)).ExpectAsync(200, 0))["data"]!;
            var run = await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
            Assert.Equal("failed", run["status"]!.GetValue<string>());
            Assert.Contains("AKShare 1.18.99 has no interface stock_zh_a_hist", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.DoesNotContain(app.AkTools.Calls, c => c.Function == "stock_zh_a_hist");
        }
        finally
        {
            await SyncAsync(_ => { });
        }

        var restored = await ListedAsync(client, "stock_zh_a_hist");
        Assert.False(restored["broken"]!.GetValue<bool>());
        Assert.Null(restored["broken_reason"]);
    }

    [Fact]
    public async Task A_parameter_the_registry_no_longer_lists_breaks_the_script_and_its_test_run()
    {
        var (client, _, _) = await app.NewUserAsync();
        try
        {
            await SyncAsync(list =>
            {
                var parameters = Entry(list, "stock_zh_a_hist")["params"]!.AsArray();
                parameters.Remove(parameters.First(p => p!["name"]!.GetValue<string>() == "adjust"));
            });
            var listed = await ListedAsync(client, "stock_zh_a_hist");
            Assert.Equal("interface stock_zh_a_hist no longer takes parameter adjust", listed["broken_reason"]!.GetValue<string>());

            app.AkTools.Calls.Clear();
            var refused = await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = "000001" } })).ExpectAsync(409, -1);
            Assert.Contains("no longer takes parameter adjust", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Empty(app.AkTools.Calls);
        }
        finally
        {
            await SyncAsync(_ => { });
        }

        Assert.False((await ListedAsync(client, "stock_zh_a_hist"))["broken"]!.GetValue<bool>());
    }
}
