using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Common;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Tests.Operations;

/// <summary>
/// What the death of a Galera node looks like to the instances that were on it, on one server: every connection of
/// the service killed at once, new ones answered at once (on a cluster they go to the next node). The run writing
/// meanwhile repeats the batch it was in on a new connection and ends with every row exactly once; the API answers
/// 503 in the envelope or 200, never a 500. (scripts/test-galera.sh does the same on a real cluster with kill -9.)
/// </summary>
public sealed class ConnectionLossTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private const int Rows = 120_000;

    [Fact]
    public async Task A_download_whose_connections_are_all_killed_twice_mid_write_ends_completed_with_every_row_once()
    {
        var start = new DateOnly(2000, 1, 1);
        app.AkTools.Generate("stock_zh_a_hist", Rows, i =>
            $"{{\"日期\":\"{start.AddDays((int)(i % 4000)):yyyy-MM-dd}T00:00:00.000\",\"股票代码\":\"{i / 4000:D6}\",\"收盘\":{10 + (i % 97) / 10.0:0.00},\"成交量\":{1000 + i}}}",
            pauseEvery: 15_000, pause: TimeSpan.FromMilliseconds(1500), withLength: true);
        var client = (await app.NewUserAsync()).Client;
        long interfaceId;
        await using (var db = await app.OpenDatabaseAsync())
        {
            interfaceId = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_hist'");
        }

        var executionId = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = interfaceId, parameters = new { symbol = "many" } }))
            .ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

        var answers = new List<int>();
        foreach (var fetched in new[] { 35_000, 80_000 })
        {
            var seen = await WaitAsync(client, executionId, v => (v["rows_fetched"] is JsonNode n ? n.GetValue<long>() : 0) >= fetched
                || v["status"]!.GetValue<string>() is not ("running" or "pending"));
            Assert.Equal("running", seen["status"]!.GetValue<string>());
            var killed = await KillServiceConnectionsAsync();
            Assert.True(killed > 0, "the service had no connection to kill");
            // A user's view right after: 200, or 503 in the envelope while connections are made again.
            var view = await client.GetAsync("/api/executions/" + executionId);
            answers.Add((int)view.StatusCode);
            if ((int)view.StatusCode != 200) await view.ExpectAsync(503, 5001);
        }

        var ended = await app.WaitForEndAsync(client, executionId, 120);
        Assert.True(ended["status"]!.GetValue<string>() == "completed", ended.ToJsonString());
        // Read again if an index the run left for later is being built (on Galera that cuts reads of the table off).
        var stored = await Failover.RetryAsync(async _ =>
        {
            await using var check = await app.OpenDatabaseAsync();
            return await check.QuerySingleAsync<(long Rows, long Keys, decimal Volume)>(
                "SELECT COUNT(*), COUNT(DISTINCT `股票代码`, `日期`), SUM(`成交量`) FROM ak_stock_zh_a_hist");
        }, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(Rows, stored.Rows);
        Assert.Equal(Rows, stored.Keys);
        Assert.Equal((1000L * Rows) + ((long)Rows * (Rows - 1) / 2), stored.Volume);
        Assert.All(answers, status => Assert.Contains(status, new[] { 200, 503 }));
    }

    /// <summary>KILL CONNECTION for every session on the fixture's database (this one has none there).</summary>
    private async Task<int> KillServiceConnectionsAsync()
    {
        var server = new MySqlConnectionStringBuilder(app.ConnectionString) { Database = "" }.ConnectionString;
        await using var connection = new MySqlConnection(server);
        await connection.OpenAsync();
        var database = new MySqlConnectionStringBuilder(app.ConnectionString).Database;
        var sessions = (await connection.QueryAsync<long>(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = @database AND ID <> CONNECTION_ID()", new { database })).ToList();
        foreach (var id in sessions)
        {
            try
            {
                await connection.ExecuteAsync($"KILL CONNECTION {id}");
            }
            catch (MySqlException)
            {
                // Gone already.
            }
        }

        return sessions.Count;
    }

    private static async Task<JsonNode> WaitAsync(HttpClient client, string executionId, Func<JsonNode, bool> done)
    {
        var deadline = Deadline.In(60);
        while (true)
        {
            var answer = await client.GetAsync("/api/executions/" + executionId);
            if ((int)answer.StatusCode == 200)
            {
                var view = (await answer.ExpectAsync(200, 0))["data"]!;
                if (done(view)) return view;
                Assert.True(!deadline.Passed, "the run did not get there: " + view.ToJsonString());
            }

            await Task.Delay(100);
        }
    }
}
