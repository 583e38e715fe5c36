using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.Extensions.Time.Testing;

namespace AkshareWeb.Tests.Executions;

/// <summary>The app on a clock the test moves: the pruner looks every hour, retention is the default 90 days.</summary>
public sealed class PruningApp : CollectingApp
{
    public PruningApp()
    {
        Clock = new FakeTimeProvider(new DateTimeOffset(2025, 3, 3, 2, 0, 0, TimeSpan.Zero));
        Set("SourceRates:Default", "0");
        Set("SourceRates:Families:eastmoney", "0");
    }
}

public sealed class PruningTests(PruningApp app) : IClassFixture<PruningApp>
{
    private async Task<string> RunTaskAsync(HttpClient client, long taskId)
    {
        var id = (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        Assert.Equal("completed", (await app.WaitForEndAsync(client, id, 60))["status"]!.GetValue<string>());
        return id;
    }

    private async Task<long> CountAsync(string sql, object args)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>(sql, args);
    }

    [Fact]
    public async Task Executions_and_parts_older_than_the_retention_go_and_each_tasks_newest_stays()
    {
        app.ServeBars();
        var (client, _, _) = await app.NewUserAsync();
        var old = (await client.CreateAsync(TaskTestKit.Daily("600100", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var oldRuns = new List<string>();
        for (var i = 0; i < 3; i++) oldRuns.Add(await RunTaskAsync(client, old));
        // A download over three symbols: a run with three parts.
        var parted = (await app.DownloadAsync("stock_zh_a_hist", new { symbol = new { values = new[] { "600101", "600102", "600103" } } }, 60, client))["execution_id"]!.GetValue<string>();
        Assert.Equal(3, await CountAsync("SELECT COUNT(*) FROM execution_parts WHERE execution_id = @parted", new { parted }));

        // 89 days on: within the retention, the pruner's tick deletes nothing.
        app.Clock!.Advance(TimeSpan.FromDays(89));
        (client, _, _) = await app.NewUserAsync();
        var young = (await client.CreateAsync(TaskTestKit.Daily("600104", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var youngRuns = new List<string> { await RunTaskAsync(client, young), await RunTaskAsync(client, young) };
        var all = oldRuns.Append(parted).Concat(youngRuns).ToArray();
        Assert.Equal(all.Length, await CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @all", new { all }));

        // Two days more: the first runs are 91 days old. The pruner's next tick takes them, but not the old task's newest.
        app.Clock.Advance(TimeSpan.FromDays(2));
        var gone = oldRuns.Take(2).Append(parted).ToArray();
        var left = await TaskTestKit.EventuallyAsync(() => CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @gone", new { gone }), n => n == 0);
        Assert.Equal(0, left);
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM execution_parts WHERE execution_id = @parted", new { parted }));
        var kept = youngRuns.Append(oldRuns[2]).ToArray();
        Assert.Equal(kept.Length, await CountAsync("SELECT COUNT(*) FROM executions WHERE execution_id IN @kept", new { kept }));

        // What the API shows agrees: the old task's last run is still its last, the pruned ones are gone.
        var admin = await app.AdminAsync();
        await (await admin.GetAsync($"/api/executions/{oldRuns[0]}")).ExpectAsync(404, 2001);
        var listed = (await (await admin.GetAsync($"/api/executions/?task_id={old}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, listed["total"]!.GetValue<long>());
        Assert.Equal(oldRuns[2], listed["items"]![0]!["execution_id"]!.GetValue<string>());
    }
}
