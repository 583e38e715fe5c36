using System.Collections.Concurrent;
using System.Diagnostics;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// The database commands one request runs, as MySqlConnector reports them (its ActivitySource, one activity per
/// command): the request is sent with a trace id of its own, which ASP.NET Core's request activity and every command
/// run within it carry, so commands of other requests, other tests and background work are not counted.
/// </summary>
internal sealed class CommandCount : IDisposable
{
    private readonly ActivityListener listener;
    private readonly ConcurrentDictionary<ActivityTraceId, ConcurrentQueue<string>> seen = new();

    public CommandCount()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "MySqlConnector" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == "MySqlConnector" && seen.TryGetValue(activity.TraceId, out var commands))
                {
                    commands.Enqueue($"{activity.OperationName}: {activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement") ?? activity.DisplayName}");
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    /// <summary>The commands <paramref name="path"/> ran (opening a connection is not one).</summary>
    public async Task<IReadOnlyList<string>> OfAsync(HttpClient client, string path)
    {
        var trace = ActivityTraceId.CreateRandom();
        var commands = seen[trace] = new ConcurrentQueue<string>();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        (await client.SendAsync(request)).EnsureSuccessStatusCode();
        seen.TryRemove(trace, out _);
        return commands.Where(c => !c.StartsWith("Open", StringComparison.Ordinal)).ToList();
    }

    public void Dispose() => listener.Dispose();
}

/// <summary>The service with its warehouse in a database of its own, apart from the application database.</summary>
public sealed class SeparateWarehouseApp : CollectingApp
{
    public string WarehouseConnectionString { get; private set; } = "";

    public override async Task InitializeAsync()
    {
        WarehouseConnectionString = await TestDatabase.CreateAsync("awwarehouse");
        Set("ConnectionStrings:Warehouse", WarehouseConnectionString);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (WarehouseConnectionString.Length > 0) await TestDatabase.DropAsync(WarehouseConnectionString);
    }
}

/// <summary>What a data page costs: one query beside the session check, with the warehouse in the application
/// database (<see cref="SharedWarehouseQueriesTests"/>) or apart from it.</summary>
public sealed class SeparateWarehouseQueriesTests(SeparateWarehouseApp app) : IClassFixture<SeparateWarehouseApp>
{
    [Fact]
    public async Task A_data_page_costs_one_query_beside_the_session_check_and_a_hand_made_change_shows_within_the_shape_lifetime()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.AkTools.Rows("macro_cnbs", new Dictionary<string, object?> { ["年份"] = "2024-03", ["居民部门"] = 61.9 });
        var run = await app.DownloadAsync("macro_cnbs", client: client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        await using (var warehouse = new MySqlConnector.MySqlConnection(app.WarehouseConnectionString))
        {
            Assert.Equal(1, await warehouse.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ak_macro_cnbs"));
        }

        await ReadPathQueries.AssertOneQueryAsync(client, "ak_macro_cnbs");

        // By hand, behind the service's back: a row in the warehouse and last_updated_at moved in the application
        // database, as a run on another instance does. Not checked on every page here (that is the query saved): seen
        // once the remembered shape is older than its lifetime.
        await using (var warehouse = new MySqlConnector.MySqlConnection(app.WarehouseConnectionString))
        {
            await warehouse.ExecuteAsync("""
                INSERT INTO ak_macro_cnbs (`年份`, `居民部门`, _execution_id, _collected_at, _row_key, _row_hash)
                VALUES ('2024-06', 62.1, 'exec_by_hand', UTC_TIMESTAMP(6), UNHEX(MD5('by hand')), UNHEX(MD5('by hand')))
                """);
        }

        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("UPDATE warehouse_tables SET last_updated_at = UTC_TIMESTAMP(6) + INTERVAL 1 SECOND WHERE table_name = 'ak_macro_cnbs'");
        }

        var changed = Stopwatch.StartNew();
        long total;
        do
        {
            var page = await (await client.GetAsync("/api/tables/ak_macro_cnbs/data")).ExpectAsync(200, 0);
            total = page["data"]!["total"]!.GetValue<long>();
            if (total == 2) break;
            await Task.Delay(200);
        }
        while (changed.Elapsed < AkshareWeb.Features.Tables.ManagedTables.ShapeLifetime + TimeSpan.FromSeconds(2));
        Assert.Equal(2, total);
    }
}

public sealed class SharedWarehouseQueriesTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    [Fact]
    public async Task A_data_page_costs_one_query_beside_the_session_check()
    {
        var (client, _, _) = await app.NewUserAsync();
        app.AkTools.Rows("macro_cnbs", new Dictionary<string, object?> { ["年份"] = "2024-03", ["居民部门"] = 61.9 });
        Assert.Equal("completed", (await app.DownloadAsync("macro_cnbs", client: client))["status"]!.GetValue<string>());
        await ReadPathQueries.AssertOneQueryAsync(client, "ak_macro_cnbs");
    }
}

internal static class ReadPathQueries
{
    /// <summary>
    /// Warmed (the first page reads the shape and counts), a page runs the session check (the first command of
    /// every signed-in request, as /api/auth/me shows) and one query more.
    /// </summary>
    public static async Task AssertOneQueryAsync(HttpClient client, string table)
    {
        using var count = new CommandCount();
        var path = $"/api/tables/{table}/data?page_size=20";
        await count.OfAsync(client, path);
        var session = await count.OfAsync(client, "/api/auth/me");
        var page = await count.OfAsync(client, path);
        Assert.True(session.Count >= 1, "no command seen for the session check: " + string.Join(" | ", session));
        var shown = $"/api/auth/me: {string.Join(" | ", session)}; the page: {string.Join(" | ", page)}";
        Assert.True(page.Count == 2 && page[0] == session[0], shown);
        Assert.Contains("FROM `" + table + "`", page[1], StringComparison.Ordinal);
    }
}
