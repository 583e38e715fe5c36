using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Parts;

/// <summary>A parted run shows its parts running and waiting and its effective call rate wherever it is listed.</summary>
public sealed class PartRateTests(PartsApp app) : IClassFixture<PartsApp>
{
    private static void Shows(JsonNode execution, int running, int waiting, double callsPerSecond)
    {
        Assert.Equal(running, execution["parts_running"]!.GetValue<int>());
        Assert.Equal(waiting, execution["parts_waiting"]!.GetValue<int>());
        Assert.Equal(callsPerSecond, execution["calls_per_second"]!.GetValue<double>());
    }

    /// <summary>
    /// One part at a time: 980001 is fetched, 980002 fails on each of its 3 tries (AKTools' 500), 980003 is held at
    /// the fake while 980004 and 980005 wait. Five calls reached AKTools: the rate is 5/60 per second, tries included.
    /// </summary>
    [Fact]
    public async Task A_parted_run_shows_parts_running_and_waiting_and_its_calls_of_the_last_minute()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.AkTools.Handle("fanout_bars_em", async context =>
        {
            var symbol = context.Request.Query["symbol"].ToString();
            if (symbol == "980002")
            {
                context.Response.StatusCode = 500;
                await context.Response.WriteAsync("Internal Server Error", context.RequestAborted);
                return;
            }

            if (symbol == "980003") await gate.Task.WaitAsync(context.RequestAborted);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new[] { TestScripts.Bar(symbol, new DateOnly(2024, 6, 3), 10) }), context.RequestAborted);
        });
        var (client, _, _) = await app.NewUserAsync();

        var single = await app.DownloadAsync("fanout_bars_em", new { symbol = "980009" }, client: client);
        Assert.Equal("completed", single["status"]!.GetValue<string>());
        Assert.Null(single["parts_running"]);
        Assert.Null(single["parts_waiting"]);
        Assert.Null(single["calls_per_second"]);

        string[] symbols = ["980001", "980002", "980003", "980004", "980005"];
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = symbols } }, concurrency: 1);
        var id = await PartsApp.ExecuteAsync(client, taskId);
        int Calls() => app.AkTools.Calls.Count(c => c.Function == "fanout_bars_em" && symbols.Contains(HttpUtility.ParseQueryString(c.Query)["symbol"]));
        await TaskTestKit.EventuallyAsync(() => Task.FromResult(app.AkTools.Calls.Any(c => c.Function == "fanout_bars_em" && c.Query.Contains("980003", StringComparison.Ordinal))), held => held);
        Assert.Equal(5, Calls());

        // parts_done and parts_failed are the heartbeat's counts, up to a second behind (a count read between 980001's end and
        // 980002's failure is 1 done, 0 failed); the new three are read when asked.
        var execution = await TaskTestKit.EventuallyAsync(async () => (await (await client.GetAsync($"/api/executions/{id}")).ExpectAsync(200, 0))["data"]!,
            e => e["parts_done"]!.GetValue<int>() == 1 && e["parts_failed"]!.GetValue<int>() == 1);
        Shows(execution, running: 1, waiting: 2, callsPerSecond: Math.Round(5 / 60.0, 2));
        var listed = (await (await client.GetAsync("/api/executions/?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray()
            .Single(e => e!["execution_id"]!.GetValue<string>() == id)!;
        Shows(listed, running: 1, waiting: 2, callsPerSecond: Math.Round(5 / 60.0, 2));
        var ofTask = Assert.Single((await (await client.GetAsync($"/api/tasks/{taskId}/executions")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray())!;
        Shows(ofTask, running: 1, waiting: 2, callsPerSecond: Math.Round(5 / 60.0, 2));

        gate.SetResult();
        var ended = await app.EndAsync(client, id);
        Assert.Equal("failed", ended["status"]!.GetValue<string>());
        Assert.Equal(4, ended["parts_done"]!.GetValue<int>());
        Assert.Equal(7, Calls());
        // Ended: nothing runs or waits, and it calls no more.
        Shows(ended, running: 0, waiting: 0, callsPerSecond: 0);
    }

    /// <summary>
    /// A run's end and the deletion of its calls are two statements: a read between them (or after an end the watchdog
    /// wrote, which leaves the calls for the sweep) still finds calls of the last minute. An ended run shows no rate.
    /// </summary>
    [Fact]
    public async Task An_ended_run_shows_no_call_rate_while_its_calls_are_still_stored()
    {
        app.AkTools.Handle("fanout_bars_em", async context =>
        {
            var symbol = context.Request.Query["symbol"].ToString();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new[] { TestScripts.Bar(symbol, new DateOnly(2024, 6, 3), 10) }), context.RequestAborted);
        });
        var (client, _, _) = await app.NewUserAsync();
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = new[] { "981001", "981002" } } }, concurrency: 1);
        var id = await PartsApp.ExecuteAsync(client, taskId);
        Assert.Equal("completed", (await app.EndAsync(client, id))["status"]!.GetValue<string>());
        await using (var db = await app.OpenDatabaseAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(db,
                "INSERT INTO execution_calls (execution_id, called_at) VALUES (@id, UTC_TIMESTAMP(6)), (@id, UTC_TIMESTAMP(6))", new { id });
        }

        var execution = (await (await client.GetAsync($"/api/executions/{id}")).ExpectAsync(200, 0))["data"]!;
        Shows(execution, running: 0, waiting: 0, callsPerSecond: 0);
        var listed = (await (await client.GetAsync("/api/executions/?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray()
            .Single(e => e!["execution_id"]!.GetValue<string>() == id)!;
        Shows(listed, running: 0, waiting: 0, callsPerSecond: 0);
    }

    /// <summary>A run that ended without its own clean-up (its instance died) leaves calls behind: the watchdog sweeps them.</summary>
    [Fact]
    public async Task Calls_left_behind_by_a_run_that_ended_otherwise_are_swept()
    {
        // The service up (its schema made), with its watchdog looking every second.
        await app.NewUserAsync();
        await using (var db = await app.OpenDatabaseAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(db, """
                INSERT INTO execution_calls (execution_id, called_at)
                VALUES ('exec_left_behind', UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE), ('exec_left_behind', UTC_TIMESTAMP(6) - INTERVAL 3 MINUTE)
                """);
        }

        var left = await TaskTestKit.EventuallyAsync(async () =>
        {
            await using var db = await app.OpenDatabaseAsync();
            return await Dapper.SqlMapper.ExecuteScalarAsync<long>(db, "SELECT COUNT(*) FROM execution_calls WHERE execution_id = 'exec_left_behind'");
        }, left => left == 0, 15);
        Assert.Equal(0, left);
    }
}
