using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Client.Tests;

/// <summary>
/// The service on a real loopback port (Kestrel, not the in-memory test server, so a Node process can call it),
/// on a database of its own, with the fake AKTools serving <see cref="Interface"/>: daily bars of any symbol.
/// </summary>
public sealed class ServiceOnLoopback : CollectingApp
{
    public const string Interface = "client_flow_bars";
    public const int BarsPerDownload = 5;

    public ServiceOnLoopback() => UseKestrel(0);

    public Uri BaseAddress { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        var first = new DateOnly(2024, 1, 2);
        AkTools.Rows(Interface, q => Enumerable.Range(0, BarsPerDownload).Select(i => TestScripts.Bar(q["symbol"].ToString(), first.AddDays(i), 10.5 + i)));
        await AddBarsScriptAsync(Interface, "客户端日线");
    }

    /// <summary>
    /// What the service's database says of its runs and of Hangfire's jobs, queues and servers, in a few lines: written
    /// beside the test results while a flow waits long, so that a flow that never ends leaves its story behind.
    /// </summary>
    public async Task<string> SnapshotAsync()
    {
        await using var db = await OpenDatabaseAsync();
        var lines = new System.Text.StringBuilder();
        async Task Section(string title, string sql)
        {
            lines.Append(title).Append(':');
            await using var command = new MySqlConnector.MySqlCommand(sql, db);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                lines.Append("\n  ").AppendJoin(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)));
            }

            lines.Append('\n');
        }

        await Section("executions", "SELECT execution_id, status, triggered_by, created_at, start_time, end_time, worker, error_message FROM executions ORDER BY id");
        await Section("jobs", "SELECT j.Id, s.Name, j.CreatedAt, s.CreatedAt FROM hangfire_job j LEFT JOIN hangfire_state s ON s.Id = j.StateId ORDER BY j.Id");
        await Section("queue", "SELECT Id, JobId, Queue, FetchedAt FROM hangfire_job_queue ORDER BY Id");
        await Section("servers", "SELECT Id, LastHeartbeat, Data FROM hangfire_server");
        await Section("now", "SELECT UTC_TIMESTAMP(6)");
        return lines.ToString();
    }

    /// <summary>Appends <paramref name="text"/> to .data/test-results/client-flows.log of the repository.</summary>
    public static async Task LogAsync(string text)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AkshareWeb.sln"))) directory = directory.Parent;
        if (directory is null) return;
        var folder = Path.Combine(directory.FullName, ".data", "test-results");
        Directory.CreateDirectory(folder);
        await File.AppendAllTextAsync(Path.Combine(folder, "client-flows.log"), $"{DateTime.UtcNow:O} {text}\n");
    }

    /// <summary>A client of the generated SDK on its own HttpClient, as an SDK user would make it.</summary>
    public (AkshareWebClient Client, HttpClient Http) NewClient()
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        return (new AkshareWebClient(http), http);
    }
}
