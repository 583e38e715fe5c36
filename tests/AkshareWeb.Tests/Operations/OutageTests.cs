using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using MySqlConnector;

namespace AkshareWeb.Tests.Operations;

/// <summary>The service on a database behind a proxy the test cuts and restores; dead runs are judged after 2 s,
/// silent instances after 30 s. It has the parts app's fan-out scripts, for parted runs across an outage.</summary>
public sealed class OutageApp : AkshareWeb.Tests.Parts.PartsApp
{
    public TcpProxy Proxy { get; private set; } = null!;

    public OutageApp()
    {
        Set("Scheduler:StaleExecutionSeconds", "2");
        Set("Scheduler:WatchdogIntervalSeconds", "0.5");
        Set("Scheduler:InstanceTimeoutSeconds", "30");
        // Outages here outlast what a run waits for a failover, so a run that loses the database ends with its cause.
        Set("Failover:PatienceSeconds", "1");
        // The fake AKTools of these tests answers when the test gives the database back, not after a fixed time: the
        // call must outlast the steps before, on a loaded machine too.
        Set("AkTools:TimeoutSeconds", "60");
    }

    /// <summary>How long this instance may be silent before others take it for gone (before it starts).</summary>
    public void InstanceTimeout(int seconds) => Set("Scheduler:InstanceTimeoutSeconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

    protected override string ServiceConnectionString(string connectionString)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString);
        Proxy = new TcpProxy(builder.Server, (int)builder.Port);
        builder.Server = "127.0.0.1";
        builder.Port = (uint)Proxy.Port;
        // Fail fast while the database is away, as a client of a stopped server would.
        builder.ConnectionTimeout = 2;
        return builder.ConnectionString;
    }

    public override async ValueTask DisposeAsync()
    {
        Proxy?.Restore();
        await base.DisposeAsync();
        if (Proxy is not null) await Proxy.DisposeAsync();
    }
}

public sealed class OutageTests(OutageApp app) : IClassFixture<OutageApp>
{
    [Fact]
    public async Task A_run_that_loses_the_database_ends_with_its_own_cause_once_the_database_answers_again()
    {
        var (client, _, _) = await app.NewUserAsync();
        // AKTools answers once the database is cut, whenever that is: the run's write must meet the outage. (A fixed
        // delay let a slow machine cut the database after the answer was written, and the run completed.)
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.AkTools.RowsAsync("stock_zh_a_spot_em", async _ =>
        {
            await answer.Task;
            return [new Dictionary<string, object?> { ["代码"] = "000001", ["最新价"] = 10.5 }];
        });
        var executionId = await StartAsync(client, "stock_zh_a_spot_em");
        await WaitForStatusAsync(client, executionId, "running");

        app.Proxy.Cut();
        try
        {
            answer.SetResult();
            await Task.Delay(500);
            // While the database is away: the API says so in its envelope, and readiness fails on the database.
            await (await client.GetAsync("/api/executions/" + executionId)).ExpectAsync(503, 5001);
            var ready = await app.CreateClient().GetAsync("/health/ready");
            Assert.Equal(503, (int)ready.StatusCode);
            var report = await ready.ReadEnvelopeAsync();
            Assert.Equal("unhealthy", report["checks"]!["database"]!["status"]!.GetValue<string>());
            // AKTools answers meanwhile; the run's write finds the database away, and the watchdog (2 s) would have
            // taken the run for dead by now if stale heartbeats were all it looked at.
            await Task.Delay(TimeSpan.FromSeconds(5.5));
        }
        finally
        {
            app.Proxy.Restore();
        }

        // The service answers again once the database is back, without a restart; how soon is a figure for bench/
        // (a loaded machine is slow at anything), the bound only keeps a service that never recovers from hanging here.
        var back = System.Diagnostics.Stopwatch.StartNew();
        while ((int)(await client.GetAsync("/api/executions/" + executionId)).StatusCode != 200)
        {
            Assert.True(back.Elapsed < TimeSpan.FromMinutes(1), "the service did not answer again after the database's return");
            await Task.Delay(100);
        }

        var ended = await app.WaitForEndAsync(client, executionId, 30);
        var error = ended["error_message"]!.GetValue<string>();
        Assert.True(ended["status"]!.GetValue<string>() == "failed", ended.ToJsonString());
        Assert.Contains("database stopped answering during the run", error);
        Assert.DoesNotContain("worker running it", error);

        // Stays so: nothing rewrites it afterwards.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var later = (await (await client.GetAsync("/api/executions/" + executionId)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(error, later["error_message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_run_waiting_for_AKTools_through_a_short_outage_completes()
    {
        var (client, _, _) = await app.NewUserAsync();
        // AKTools answers only after the outage: the run waits for it through the whole of it.
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.AkTools.RowsAsync("macro_cnbs", async _ =>
        {
            await answer.Task;
            return [new Dictionary<string, object?> { ["年份"] = "2024-03", ["居民部门"] = 61.9 }];
        });
        var executionId = await StartAsync(client, "macro_cnbs");
        await WaitForStatusAsync(client, executionId, "running");

        app.Proxy.Cut();
        await Task.Delay(TimeSpan.FromSeconds(3));
        app.Proxy.Restore();
        answer.SetResult();

        var ended = await app.WaitForEndAsync(client, executionId, 30);
        Assert.True(ended["status"]!.GetValue<string>() == "completed", ended.ToJsonString());
        Assert.Equal(1, ended["rows_affected"]!.GetValue<long>());
    }

    private async Task<string> StartAsync(HttpClient client, string function)
    {
        long id;
        await using (var db = await app.OpenDatabaseAsync())
        {
            id = await Dapper.SqlMapper.ExecuteScalarAsync<long>(db, "SELECT id FROM interfaces WHERE name = @function", new { function });
        }

        var started = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = id, parameters = new { } })).ExpectAsync(200, 0))["data"]!;
        return started["execution_id"]!.GetValue<string>();
    }

    private static async Task WaitForStatusAsync(HttpClient client, string executionId, string status)
    {
        var deadline = Deadline.In(15);
        JsonNode body;
        do
        {
            body = (await (await client.GetAsync("/api/executions/" + executionId)).ExpectAsync(200, 0))["data"]!;
            if (body["status"]!.GetValue<string>() == status) return;
            await Task.Delay(50);
        }
        while (!deadline.Passed);
        Assert.Fail($"execution {executionId} never reached {status}: {body.ToJsonString()}");
    }
}
