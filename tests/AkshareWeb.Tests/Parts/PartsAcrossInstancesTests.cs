using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>A parted run over two instances of the service on one database, and over a restart.</summary>
public sealed class PartsAcrossInstancesTests
{
    /// <summary>Another instance on the first one's database and scripts, with its own fake AKTools.</summary>
    private sealed class OtherInstance : PartsApp
    {
        public OtherInstance(PartsApp first)
        {
            UseDatabase(first.ConnectionString);
            Set("DataScripts:Path", first.ScriptsFolder);
            Set("Catalog:RegistryPath", first.RegistryFile);
        }
    }

    private static async Task<long> RowsAsync(AkshareWebApp app, string sql)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>(sql);
    }

    /// <summary>Two instances on one database, both serving bars after 300 ms; the second started too.</summary>
    private static async Task<(PartsApp First, OtherInstance Second)> TwoInstancesAsync()
    {
        var first = new PartsApp();
        await first.InitializeAsync();
        first.ServeWindowBars("fanout_bars_em", TimeSpan.FromMilliseconds(300));
        var second = new OtherInstance(first);
        await second.InitializeAsync();
        second.ServeWindowBars("fanout_bars_em", TimeSpan.FromMilliseconds(300));
        _ = second.Server;
        return (first, second);
    }

    [Fact]
    public async Task Two_instances_share_the_parts_of_one_run_and_no_part_runs_twice()
    {
        var (first, second) = await TwoInstancesAsync();
        await using var firstInstance = first;
        await using var secondInstance = second;

        var (client, _, _) = await first.NewUserAsync();
        var symbols = Enumerable.Range(1, 48).Select(i => $"8{i:D5}").ToArray();
        var taskId = await first.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = symbols } }, concurrency: 4);
        var id = await PartsApp.ExecuteAsync(client, taskId);
        var run = await first.EndAsync(client, id);

        Assert.True(run["status"]!.GetValue<string>() == "completed", (await PartsApp.PartsAsync(client, id, "failed")).ToJsonString());
        Assert.Equal(48, run["parts_done"]!.GetValue<int>());
        var firstCalls = first.Arrivals.Select(a => a.Symbol).ToList();
        var secondCalls = second.Arrivals.Select(a => a.Symbol).ToList();
        Assert.True(firstCalls.Count > 0 && secondCalls.Count > 0, $"first {firstCalls.Count}, second {secondCalls.Count}: {(await PartsApp.PartsAsync(client, id)).ToJsonString()}");
        // Each symbol was fetched once, by one of the two.
        Assert.Equal(symbols.Order(StringComparer.Ordinal), firstCalls.Concat(secondCalls).Order(StringComparer.Ordinal));
        var parts = await PartsApp.PartsAsync(client, id);
        Assert.Equal(2, parts.Select(p => p!["worker"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal(480, await RowsAsync(first, "SELECT COUNT(*) FROM ak_fanout_bars_em"));

        await ((IAsyncLifetime)second).DisposeAsync();
        await ((IAsyncLifetime)first).DisposeAsync();
    }

    /// <summary>
    /// calls_per_second counts the calls of every instance taking part: once both have called twice or more, the
    /// calls of the last minute it stands for are at least all the calls both fakes had received before the question
    /// (more than the asked instance made) and at most those received a little after it.
    /// </summary>
    [Fact]
    public async Task The_call_rate_of_a_run_counts_the_calls_of_both_instances()
    {
        var (first, second) = await TwoInstancesAsync();
        await using var firstInstance = first;
        await using var secondInstance = second;

        var (client, _, _) = await first.NewUserAsync();
        var symbols = Enumerable.Range(1, 48).Select(i => $"86{i:D4}").ToArray();
        var taskId = await first.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = symbols } }, concurrency: 4);
        var id = await PartsApp.ExecuteAsync(client, taskId);
        await TaskTestKit.EventuallyAsync(() => Task.FromResult((first.Arrivals.Count, second.Arrivals.Count)), n => n.Item1 >= 2 && n.Item2 >= 2);

        var before = first.Arrivals.Count + second.Arrivals.Count;
        var execution = (await (await client.GetAsync($"/api/executions/{id}")).ExpectAsync(200, 0))["data"]!;
        await Task.Delay(200);
        var after = first.Arrivals.Count + second.Arrivals.Count;
        var calls = (int)Math.Round(execution["calls_per_second"]!.GetValue<double>() * 60);
        Assert.True(execution["status"]!.GetValue<string>() == "running" && calls >= before && calls <= after,
            $"calls {calls}, fakes {before}..{after}: {execution.ToJsonString()}");
        Assert.Equal("completed", (await first.EndAsync(client, id))["status"]!.GetValue<string>());

        await ((IAsyncLifetime)second).DisposeAsync();
        await ((IAsyncLifetime)first).DisposeAsync();
    }

    [Fact]
    public async Task A_restart_mid_run_finishes_the_remaining_parts_without_duplicates()
    {
        var first = new PartsApp();
        await first.InitializeAsync();
        first.ServeWindowBars("fanout_bars_em", TimeSpan.FromMilliseconds(300));
        var (client, username, _) = await first.NewUserAsync();
        var symbols = Enumerable.Range(1, 20).Select(i => $"9{i:D5}").ToArray();
        var taskId = await first.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = symbols } }, concurrency: 2);
        var id = await PartsApp.ExecuteAsync(client, taskId);
        await TaskTestKit.EventuallyAsync(async () => (await PartsApp.PartsAsync(client, id, "completed")).Count, n => n >= 4);

        // The only instance goes away mid-run; a new one starts on the same database.
        var restarted = new OtherInstance(first);
        var connectionString = first.ConnectionString;
        await first.DisposeAsync();
        List<string> doneBefore;
        await using (var db = new MySqlConnector.MySqlConnection(connectionString))
        {
            doneBefore = (await db.QueryAsync<string>(
                "SELECT JSON_UNQUOTE(JSON_EXTRACT(parameters, '$.symbol')) FROM execution_parts WHERE execution_id = @id AND status = 'completed'", new { id })).ToList();
        }

        Assert.InRange(doneBefore.Count, 4, 19);
        await restarted.InitializeAsync();
        restarted.ServeWindowBars("fanout_bars_em", TimeSpan.FromMilliseconds(50));
        var again = await restarted.SignedInAsync(username, "password-123");
        var run = await restarted.EndAsync(again, id, 60);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal(20, run["parts_done"]!.GetValue<int>());
        // The new instance fetched exactly the parts the first had not finished, each once.
        Assert.Equal(symbols.Except(doneBefore).Order(StringComparer.Ordinal), restarted.Arrivals.Select(a => a.Symbol).Order(StringComparer.Ordinal));
        Assert.Equal(200, await RowsAsync(restarted, "SELECT COUNT(*) FROM ak_fanout_bars_em"));
        Assert.Equal(200, await RowsAsync(restarted, "SELECT COUNT(DISTINCT `股票代码`, `日期`, `period`) FROM ak_fanout_bars_em"));

        await ((IAsyncLifetime)restarted).DisposeAsync();
        await TestDatabase.DropAsync(connectionString);
    }
}
