using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Interfaces;

public sealed class InterfacesTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private async Task<long> IdOfAsync(string name)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @name", new { name });
    }

    [Fact]
    public async Task The_catalogue_holds_the_registry_and_every_interface_a_script_uses()
    {
        var (client, _, _) = await app.NewUserAsync();
        var all = (await (await client.GetAsync("/api/interfaces/?page_size=100")).ExpectAsync(200, 0))["data"]!;
        var names = all["items"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()).ToHashSet();
        // From the registry (imported at start), and stock_news_em only from a data script.
        Assert.Superset(new HashSet<string> { "stock_zh_a_spot_em", "stock_zh_a_hist", "hostile_fn", "macro_cnbs", "stock_news_em", "macro_china_cpi" }, names);

        var spot = all["items"]!.AsArray().First(i => i!["name"]!.GetValue<string>() == "stock_zh_a_spot_em")!;
        Assert.Equal("东方财富网-沪深京 A 股-实时行情数据", spot["display_name"]!.GetValue<string>());
        // AKShare's "stock", in the API's naming.
        Assert.Equal("stocks", spot["category"]!.GetValue<string>());
        Assert.Equal(0, spot["parameter_count"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("实时行情", "stock_zh_a_spot_em")]
    [InlineData("杠杆率", "macro_cnbs")]
    [InlineData("STOCK_ZH_A_H", "stock_zh_a_hist")]
    public async Task Keyword_search_matches_names_display_names_and_descriptions(string keyword, string expected)
    {
        var (client, _, _) = await app.NewUserAsync();
        var found = (await (await client.GetAsync($"/api/interfaces?keyword={Uri.EscapeDataString(keyword)}")).ExpectAsync(200, 0))["data"]!;
        Assert.Contains(found["items"]!.AsArray(), i => i!["name"]!.GetValue<string>() == expected);
    }

    [Fact]
    public async Task Search_is_the_keyword_filter_under_the_name_other_catalogues_use()
    {
        var (client, _, _) = await app.NewUserAsync();
        var found = (await (await client.GetAsync($"/api/interfaces?search={Uri.EscapeDataString("杠杆率")}")).ExpectAsync(200, 0))["data"]!;
        Assert.Contains(found["items"]!.AsArray(), i => i!["name"]!.GetValue<string>() == "macro_cnbs");
        await (await client.GetAsync("/api/interfaces?search=cnbs&keyword=cnbs")).ExpectAsync(200, 0);
        var both = await (await client.GetAsync("/api/interfaces?search=cnbs&keyword=spot")).ExpectAsync(422, 3001);
        Assert.Equal("search", Assert.Single(both["detail"]!.AsArray())!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Categories_have_chinese_names_and_counts()
    {
        var (client, _, _) = await app.NewUserAsync();
        var categories = (await (await client.GetAsync("/api/interfaces/categories")).ExpectAsync(200, 0))["data"]!.AsArray();
        Assert.DoesNotContain(categories, c => c!["name"]!.GetValue<string>() == "stock");
        var stock = categories.First(c => c!["name"]!.GetValue<string>() == "stocks")!;
        Assert.Equal("股票", stock["display_name"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(stock["description"]!.GetValue<string>()));
        Assert.True(stock["interface_count"]!.GetValue<long>() >= 2);
        var filtered = (await (await client.GetAsync("/api/interfaces/?category=macro")).ExpectAsync(200, 0))["data"]!;
        Assert.All(filtered["items"]!.AsArray(), i => Assert.Equal("macro", i!["category"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_interface_shows_parameters_from_its_data_scripts_before_the_registrys()
    {
        var (client, _, _) = await app.NewUserAsync();
        var id = await IdOfAsync("stock_zh_a_hist");
        var detail = (await (await client.GetAsync($"/api/interfaces/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("stock_zh_a_hist", detail["name"]!.GetValue<string>());
        Assert.True(detail["in_registry"]!.GetValue<bool>());
        Assert.True(detail["used_by_scripts"]!.GetValue<bool>());
        var parameters = (await (await client.GetAsync($"/api/interfaces/{id}/parameters")).ExpectAsync(200, 0))["data"]!.AsArray();
        var symbol = parameters.First(p => p!["name"]!.GetValue<string>() == "symbol")!;
        Assert.True(symbol["required"]!.GetValue<bool>());
        var adjust = parameters.First(p => p!["name"]!.GetValue<string>() == "adjust")!;
        Assert.Equal("", adjust["default_value"]!.GetValue<string>());

        // Registry-only: parameters read from the registry's text, default included.
        var hostile = (await (await client.GetAsync($"/api/interfaces/{await IdOfAsync("hostile_fn")}/parameters")).ExpectAsync(200, 0))["data"]!.AsArray();
        var level = Assert.Single(hostile)!;
        Assert.Equal("int", level["type"]!.GetValue<string>());
        Assert.Equal("1", level["default_value"]!.GetValue<string>());

        await (await client.GetAsync("/api/interfaces/999999")).ExpectAsync(404, 2001);
        await (await client.GetAsync("/api/interfaces/999999/parameters")).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Sync_reports_added_updated_and_removed_and_is_for_admins()
    {
        var admin = await app.AdminAsync();
        var (user, _, _) = await app.NewUserAsync();
        await (await user.PostAsync("/api/interfaces/sync", null)).ExpectAsync(403, 1003);

        var again = (await (await admin.PostAsync("/api/interfaces/sync", null)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(4, again["total"]!.GetValue<int>());
        Assert.Equal(0, again["added"]!.GetValue<int>());
        Assert.Equal(4, again["updated"]!.GetValue<int>());

        var original = await File.ReadAllTextAsync(app.RegistryFile);
        try
        {
            var registry = System.Text.Json.Nodes.JsonNode.Parse(original)!;
            var list = registry["interfaces"]!.AsArray();
            list.Remove(list.First(i => i!["name"]!.GetValue<string>() == "macro_cnbs"));
            list.Add(System.Text.Json.Nodes.JsonNode.Parse("""{"category": "bond", "desc": "新接口", "documented": true, "example": "", "limit_desc": "", "module": "akshare.bond.x", "name": "bond_new_one", "outputs": [], "params": [], "url": ""}"""));
            await File.WriteAllTextAsync(app.RegistryFile, registry.ToJsonString());
            var changed = (await (await admin.PostAsync("/api/interfaces/sync", null)).ExpectAsync(200, 0))["data"]!;
            Assert.Equal(1, changed["added"]!.GetValue<int>());
            Assert.Equal(1, changed["removed"]!.GetValue<int>());
            Assert.Equal(3, changed["updated"]!.GetValue<int>());

            await File.WriteAllTextAsync(app.RegistryFile, "{ not json");
            await (await admin.PostAsync("/api/interfaces/sync", null)).ExpectAsync(400, 3002);
        }
        finally
        {
            await File.WriteAllTextAsync(app.RegistryFile, original);
            await admin.PostAsync("/api/interfaces/sync", null);
        }
    }
}
