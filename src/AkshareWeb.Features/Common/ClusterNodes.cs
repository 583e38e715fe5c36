using System.Collections.Concurrent;
using System.Diagnostics;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Which node of a Galera cluster new connections go to, for a connection string that names several hosts in
/// failover order: the first of them that accepts a connection <em>and serves queries</em>, the same node for every
/// connection of this process. MySqlConnector's failover stops at the first host that accepts a connection; but a node
/// that is rejoining (receiving the writes it missed, for seconds or minutes) accepts connections while it refuses every
/// statement with 1047, and a node taken out of service by its operator (<c>wsrep_reject_queries</c>) does the same. So
/// each new connection is tried with a statement first, and a node that refuses is passed over: the hosts are taken
/// from the next one on, by every connection of this process, and the first one is tried again <see cref="Retry"/> later.
/// <para>Two nodes apply the same writes at their own pace: a process whose connections were on two nodes at once (the
/// pool's older ones on the node it failed over to, new ones back on the first) could read a row one of its
/// connections wrote a moment ago on the other one and not find it (Hangfire then drops a job it cannot read). So the
/// same statement asks which node answered: when it is another than the one before, the pools' idle connections are
/// dropped and the process moves there whole. Callers whose reads must see every write committed anywhere before them,
/// even across that move (Hangfire's storage, which reads a job back right after another connection queued it), ask for
/// causal reads (<c>wsrep_sync_wait</c>): such a read waits until its node has applied them, and while a dead node is
/// being evicted (about 5 s) it waits like a write; the service's other reads go on meanwhile. The cost, on a cluster
/// only: one round trip per connection opened.</para>
/// </summary>
public sealed class ClusterNodes
{
    /// <summary>How long a node that refused is passed over before it is tried again.</summary>
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(10);

    private static readonly ConcurrentDictionary<string, ClusterNodes?> Known = new(StringComparer.Ordinal);

    /// <summary>Galera's: refuses when the node is not ready (the DO), names the node; causal reads when asked for. MySQL
    /// knows neither variable.</summary>
    private const string GaleraProbe = "DO 1; SELECT @@wsrep_node_name";
    private const string CausalProbe = "SET SESSION wsrep_sync_wait = 1; " + GaleraProbe;
    private const string PlainProbe = "DO 1";

    /// <summary>The host list in each order: from the first host on, from the second on, ...</summary>
    private readonly string[] orders;
    private int current;
    private long passedAt;
    private volatile bool plain;
    private string? node;

    private ClusterNodes(MySqlConnectionStringBuilder builder, string[] hosts)
    {
        orders = hosts.Select((_, i) => new MySqlConnectionStringBuilder(builder.ConnectionString)
        {
            Server = string.Join(',', hosts.Skip(i).Concat(hosts.Take(i))),
        }.ConnectionString).ToArray();
    }

    /// <summary>The nodes a connection string names in failover order; null for one host (or another balancing).</summary>
    public static ClusterNodes? For(string connectionString) => Known.GetOrAdd(connectionString, static cs =>
    {
        var builder = new MySqlConnectionStringBuilder(cs);
        var hosts = builder.Server.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return hosts.Length > 1 && builder.LoadBalance == MySqlLoadBalance.FailOver ? new ClusterNodes(builder, hosts) : null;
    });

    public async Task<MySqlConnection> OpenAsync(CancellationToken ct, bool causal = false)
    {
        var first = Start();
        MySqlException? refused = null;
        for (var i = 0; i < orders.Length; i++)
        {
            var order = (first + i) % orders.Length;
            var connection = await OpenOrderAsync(orders[order], ct);
            try
            {
                await ProbeAsync(connection, causal, ct);
                Chose(order);
                return connection;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.UnknownCommand)
            {
                refused = e;
                Passed(order);
                await connection.DisposeAsync();
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        throw refused!;
    }

    /// <summary>The same, for callers that cannot wait asynchronously (Hangfire's storage).</summary>
    public MySqlConnection Open(bool causal = false)
    {
        var first = Start();
        MySqlException? refused = null;
        for (var i = 0; i < orders.Length; i++)
        {
            var order = (first + i) % orders.Length;
            var connection = OpenOrder(orders[order]);
            try
            {
                Probe(connection, causal);
                Chose(order);
                return connection;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.UnknownCommand)
            {
                refused = e;
                Passed(order);
                connection.Dispose();
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        throw refused!;
    }

    /// <summary>
    /// A connection from the order's pool. A pooled session whose node died can fail to be reused with a bare socket
    /// error, which MySqlConnector reports as "unable to connect" although the next host would answer: the pool's idle
    /// sessions are then dropped (they all went to that node) and the connection is opened once more.
    /// </summary>
    internal static async Task<MySqlConnection> OpenOrderAsync(string connectionString, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var connection = new MySqlConnection(connectionString);
            try
            {
                await connection.OpenAsync(ct);
                return connection;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.UnableToConnectToHost && attempt == 1)
            {
                await MySqlConnection.ClearPoolAsync(connection, ct);
                await connection.DisposeAsync();
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
    }

    internal static MySqlConnection OpenOrder(string connectionString)
    {
        for (var attempt = 1; ; attempt++)
        {
            var connection = new MySqlConnection(connectionString);
            try
            {
                connection.Open();
                return connection;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.UnableToConnectToHost && attempt == 1)
            {
                MySqlConnection.ClearPool(connection);
                connection.Dispose();
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
    }

    /// <summary>The statement every new connection runs first (see the class); 1047 when its node does not serve.</summary>
    private async Task ProbeAsync(MySqlConnection connection, bool causal, CancellationToken ct)
    {
        try
        {
            await using var probe = new MySqlCommand(ProbeFor(causal), connection);
            await using var reader = await probe.ExecuteReaderAsync(ct);
            do
            {
                if (reader.FieldCount == 1 && await reader.ReadAsync(ct)) Answered(reader.GetString(0));
            }
            while (await reader.NextResultAsync(ct));
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.UnknownSystemVariable && !plain)
        {
            plain = true;
            await ProbeAsync(connection, causal, ct);
        }
    }

    private void Probe(MySqlConnection connection, bool causal)
    {
        try
        {
            using var probe = new MySqlCommand(ProbeFor(causal), connection);
            using var reader = probe.ExecuteReader();
            do
            {
                if (reader.FieldCount == 1 && reader.Read()) Answered(reader.GetString(0));
            }
            while (reader.NextResult());
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.UnknownSystemVariable && !plain)
        {
            plain = true;
            Probe(connection, causal);
        }
    }

    private string ProbeFor(bool causal) => plain ? PlainProbe : causal ? CausalProbe : GaleraProbe;

    /// <summary>A connection answered from <paramref name="name"/>: another node than before moves the process there whole.</summary>
    private void Answered(string name)
    {
        var before = Interlocked.Exchange(ref node, name);
        if (before is null || before == name) return;
        foreach (var order in orders)
        {
            using var pooled = new MySqlConnection(order);
            MySqlConnection.ClearPool(pooled);
        }
    }

    /// <summary>Where to start: the order in use, or the configured one once a refusing node may be back.</summary>
    private int Start()
    {
        var order = Volatile.Read(ref current);
        return order != 0 && Stopwatch.GetElapsedTime(Volatile.Read(ref passedAt)) >= Retry ? 0 : order;
    }

    private void Chose(int order) => Volatile.Write(ref current, order);

    private void Passed(int order)
    {
        // The first order refused again: its node is passed over for another while.
        if (order == 0 || Volatile.Read(ref current) == order) Volatile.Write(ref passedAt, Stopwatch.GetTimestamp());
        if (order == 0) Volatile.Write(ref current, 1 % orders.Length);
    }
}
