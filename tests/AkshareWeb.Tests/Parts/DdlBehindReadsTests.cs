using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// A replace-mode run swaps its new table in with RENAME TABLE, which waits for every open read of the table. It waits
/// a few seconds at a time and lets reads through between tries, instead of queueing every later read behind it
/// for as long as a long export runs; once the export ends, the swap happens and the table holds what was served.
/// </summary>
public sealed class DdlBehindReadsTests(PartsApp app) : IClassFixture<PartsApp>
{
    private const string Table = "ak_fanout_codes_em";

    [Fact]
    public async Task A_replace_waits_for_a_long_read_without_stopping_other_reads_and_swaps_in_when_it_ends()
    {
        app.ServeCodes(("600001", "sh"), ("000002", "sz"));
        var (client, _, _) = await app.NewUserAsync();
        var taskId = await app.ScriptTaskAsync(client, "fanout_codes_em", new { });
        Assert.Equal("completed", (await app.EndAsync(client, await PartsApp.ExecuteAsync(client, taskId)))["status"]!.GetValue<string>());

        // A long export: a read that keeps the table open (its metadata lock) until it is done.
        await using var export = await app.OpenDatabaseAsync();
        await using var reading = await export.BeginTransactionAsync();
        Assert.Equal(2, await export.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM `{Table}`", transaction: reading));

        app.ServeCodes(("600001", "sh"), ("000002", "sz"), ("600003", "sh"));
        var id = await PartsApp.ExecuteAsync(client, taskId);
        await using var watcher = await app.OpenDatabaseAsync();
        await TaskTestKit.EventuallyAsync(async () => await watcher.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%' AND STATE LIKE '%metadata lock%'"), n => n > 0, 60);

        // While the swap waits, other reads of the table go on: each answers in a few seconds, not after the export.
        await using var reader = await app.OpenDatabaseAsync();
        await reader.ExecuteAsync("SET SESSION lock_wait_timeout = 15");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(2, await reader.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM `{Table}`"));
        }

        Assert.Equal("running", (await (await client.GetAsync($"/api/executions/{id}")).ExpectAsync(200, 0))["data"]!["status"]!.GetValue<string>());
        await reading.CommitAsync();
        var run = await app.EndAsync(client, id, 90);
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(["000002", "600001", "600003"], await reader.QueryAsync<string>($"SELECT code FROM `{Table}` ORDER BY code"));
    }
}
