using System.Diagnostics;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Galera;

/// <summary>The 3-node cluster of scripts/galera.sh: its connection string, each node on its own, kill and restart.</summary>
public sealed class Cluster(string root, string connectionString)
{
    public string ConnectionString { get; } = connectionString;

    public IReadOnlyList<string> Hosts { get; } = new MySqlConnectionStringBuilder(connectionString).Server.Split(',');

    /// <summary>One node alone (no failover): to see what it holds and who is connected to it.</summary>
    public string Node(int n, string? database = null) => new MySqlConnectionStringBuilder(ConnectionString)
    {
        Server = Hosts[n - 1],
        LoadBalance = MySqlLoadBalance.RoundRobin,
        Pooling = false,
        ConnectionTimeout = 3,
        Database = database ?? "",
    }.ConnectionString;

    /// <summary>The node the service's connections are on now (the most of them): the one a crash would hurt.</summary>
    public async Task<int> NodeWrittenToAsync(string database)
    {
        var best = (Node: 1, Count: -1L);
        for (var n = 1; n <= Hosts.Count; n++)
        {
            try
            {
                await using var connection = new MySqlConnection(Node(n));
                var count = await connection.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = @database", new { database });
                if (count > best.Count) best = (n, count);
            }
            catch (MySqlException)
            {
                // A node that is down holds nothing.
            }
        }

        return best.Node;
    }

    public Task KillAsync(int node) => RunAsync("kill", node.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task RestartAsync(int node) => RunAsync("restart", node.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>`scripts/galera.sh status`: each node's state and the cluster's size.</summary>
    public Task<string> StatusAsync() => RunAsync("status");

    /// <summary>How the node came back: an incremental transfer (IST) or a whole snapshot (SST), from its log.</summary>
    public string RejoinedBy(int node)
    {
        var log = Path.Combine(root, ".data", "galera", "run", $"node{node}.err");
        if (!File.Exists(log)) return "unknown";
        var tail = File.ReadLines(log).TakeLast(400).ToList();
        var ist = tail.FindLastIndex(l => l.Contains("IST received", StringComparison.Ordinal));
        var sst = tail.FindLastIndex(l => l.Contains("SST received", StringComparison.Ordinal) || l.Contains("rsync SST completed", StringComparison.Ordinal));
        return ist < 0 && sst < 0 ? "unknown" : ist > sst ? "IST" : "SST";
    }

    /// <summary>One checksum per node of each table: the same everywhere once the cluster is whole.</summary>
    public async Task<IReadOnlyList<string>> ChecksumsAsync(string database, IReadOnlyList<string> tables)
    {
        var answers = new List<string>();
        for (var n = 1; n <= Hosts.Count; n++)
        {
            await using var connection = new MySqlConnection(Node(n, database));
            var sums = new List<string>();
            foreach (var table in tables)
            {
                var row = await connection.QuerySingleAsync<(string Table, long? Checksum)>($"CHECKSUM TABLE `{table}`");
                sums.Add($"{table}={row.Checksum}");
            }

            answers.Add(string.Join(" ", sums));
        }

        return answers;
    }

    private async Task<string> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(root, "scripts", "galera.sh")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"galera.sh {string.Join(' ', arguments)} failed: {await error}");
        return await output;
    }
}
