using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;

namespace AkshareWeb.Tests.Settings;

/// <summary>The suite's apps switch quotas off; this one keeps the documented defaults.</summary>
public sealed class QuotaApp : CollectingApp
{
    public QuotaApp()
    {
        Unset("Quotas:UserMaxRunningJobs");
        Unset("Quotas:UserMaxTasks");
        Unset("Quotas:UserMinScheduleMinutes");
    }
}

public sealed class QuotaTests(QuotaApp app) : IClassFixture<QuotaApp>
{
    private async Task<long> InterfaceIdAsync(string name)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @name", new { name });
    }

    private async Task<HttpResponseMessage> StartDownloadAsync(HttpClient client, string symbol) =>
        await client.PostAsJsonAsync("/api/data/download", new { interface_id = await InterfaceIdAsync("stock_zh_a_hist"), parameters = new { symbol } });

    private static void AssertNamesQuota(JsonNode body, string quota, int limit)
    {
        var message = body["message"]!.GetValue<string>();
        Assert.Contains(quota, message, StringComparison.Ordinal);
        Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), message, StringComparison.Ordinal);
        Assert.Equal(quota, body["detail"]!["quota"]!.GetValue<string>());
        Assert.Equal(limit, body["detail"]!["limit"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_quotas_are_settings_with_their_documented_defaults()
    {
        var admin = await app.AdminAsync();
        var settings = (await (await admin.GetAsync("/api/settings/")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(2, settings["user_max_running_jobs"]!.GetValue<int>());
        Assert.Equal(50, settings["user_max_tasks"]!.GetValue<int>());
        Assert.Equal(5, settings["user_min_schedule_minutes"]!.GetValue<int>());
        var invalid = await (await admin.PutAsJsonAsync("/api/settings/", new { user_max_tasks = -1 })).ExpectAsync(422, 3001);
        Assert.Equal("user_max_tasks", invalid["detail"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_user_runs_at_most_two_downloads_or_script_tests_at_once_admins_are_exempt_and_the_limit_is_read_live()
    {
        app.ServeSlowBars(rows: 60, pauseEvery: 10, pauseMs: 300);
        var (client, _, _) = await app.NewUserAsync();
        var first = (await (await StartDownloadAsync(client, "000001")).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var second = (await (await StartDownloadAsync(client, "000002")).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

        var third = await StartDownloadAsync(client, "000003");
        AssertNamesQuota(await third.ExpectAsync(429, -1), "user_max_running_jobs", 2);
        // A script test is ad-hoc work too.
        var test = await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = "000004" } });
        AssertNamesQuota(await test.ExpectAsync(429, -1), "user_max_running_jobs", 2);
        // The quota comes before the parameters' sources are read and expanded (a table that does not exist would be a 422).
        var sourced = await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = new { from_table = "ak_nowhere", column = "code" } } });
        AssertNamesQuota(await sourced.ExpectAsync(429, -1), "user_max_running_jobs", 2);

        // Another user, and the admin, are not affected.
        var (other, _, _) = await app.NewUserAsync();
        var othersRun = (await (await StartDownloadAsync(other, "000005")).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var admin = await app.AdminAsync();
        var adminRuns = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            adminRuns.Add((await (await StartDownloadAsync(admin, "00001" + i)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>());
        }

        // Raised while the two still run, the limit applies to the next request at once.
        await (await admin.PutAsJsonAsync("/api/settings/", new { user_max_running_jobs = 3 })).ExpectAsync(200, 0);
        var fourth = (await (await StartDownloadAsync(client, "000006")).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        await (await admin.PutAsJsonAsync("/api/settings/", new { user_max_running_jobs = 2 })).ExpectAsync(200, 0);

        foreach (var id in new[] { first, second, fourth }) Assert.Equal("completed", (await app.WaitForEndAsync(client, id, 60))["status"]!.GetValue<string>());
        Assert.Equal("completed", (await app.WaitForEndAsync(other, othersRun, 60))["status"]!.GetValue<string>());
        foreach (var id in adminRuns) Assert.Equal("completed", (await app.WaitForEndAsync(admin, id, 60))["status"]!.GetValue<string>());

        // Finished work no longer counts; a finished script test leaves nothing behind.
        app.ServeBars();
        await (await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = "000007" } })).ExpectAsync(200, 0);
        await (await StartDownloadAsync(client, "000008")).ExpectAsync(200, 0);
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM script_test_runs"));
    }

    [Fact]
    public async Task A_user_owns_at_most_the_task_quota_admins_are_exempt()
    {
        var admin = await app.AdminAsync();
        await (await admin.PutAsJsonAsync("/api/settings/", new { user_max_tasks = 2 })).ExpectAsync(200, 0);
        try
        {
            var (client, _, _) = await app.NewUserAsync();
            await client.CreateAsync(TaskTestKit.Daily("000001", "cron", "0 3 1 1 *"));
            await client.CreateAsync(TaskTestKit.Daily("000002", "cron", "0 3 1 1 *"));
            var refused = await (await client.PostAsJsonAsync("/api/tasks/", TaskTestKit.Daily("000003", "cron", "0 3 1 1 *"))).ExpectAsync(409, -1);
            AssertNamesQuota(refused, "user_max_tasks", 2);
            var owned = (await (await client.GetAsync("/api/tasks/")).ExpectAsync(200, 0))["data"]!["total"]!.GetValue<long>();
            Assert.Equal(2, owned);

            for (var i = 0; i < 3; i++) await admin.CreateAsync(TaskTestKit.Daily("00009" + i, "cron", "0 3 1 1 *"));
        }
        finally
        {
            await (await admin.PutAsJsonAsync("/api/settings/", new { user_max_tasks = 50 })).ExpectAsync(200, 0);
        }
    }

    [Theory]
    [InlineData("interval", "60")]
    [InlineData("interval", "299")]
    [InlineData("cron", "* * * * *")]
    [InlineData("cron", "0,2 9 * * 1-5")]
    [InlineData("cron", "0,1 0 1 1 *")]
    public async Task A_user_schedule_more_often_than_every_five_minutes_is_409(string type, string expression)
    {
        var (client, _, _) = await app.NewUserAsync();
        var refused = await (await client.PostAsJsonAsync("/api/tasks/", TaskTestKit.Daily("000001", type, expression))).ExpectAsync(409, -1);
        AssertNamesQuota(refused, "user_min_schedule_minutes", 5);

        // The admin may; a task changed to such a schedule is refused as well.
        var admin = await app.AdminAsync();
        var adminTask = await admin.CreateAsync(TaskTestKit.Daily("000001", type, expression));
        await (await admin.DeleteAsync($"/api/tasks/{adminTask["id"]}")).ExpectAsync(200, 0);
        var id = (await client.CreateAsync(TaskTestKit.Daily("000001", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var changed = await (await client.PutAsJsonAsync($"/api/tasks/{id}", new { schedule_type = type, schedule_expression = expression })).ExpectAsync(409, -1);
        AssertNamesQuota(changed, "user_min_schedule_minutes", 5);
    }

    [Theory]
    [InlineData("interval", "300")]
    [InlineData("cron", "*/5 * * * *")]
    [InlineData("cron", "30 15 * * 1-5")]
    public async Task A_user_schedule_of_five_minutes_or_more_is_accepted(string type, string expression)
    {
        var (client, _, _) = await app.NewUserAsync();
        var created = await client.CreateAsync(TaskTestKit.Daily("000001", type, expression));
        await (await client.DeleteAsync($"/api/tasks/{created["id"]}")).ExpectAsync(200, 0);
    }
}
