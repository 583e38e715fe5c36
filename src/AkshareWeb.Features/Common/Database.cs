using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>
/// The application database (users, tasks, executions, Hangfire). Every slice opens its connections here so
/// the session settings are the same everywhere: UTC, utf8mb4. A connection string may name several hosts, the
/// nodes of a Galera cluster: every connection then goes to the first one that answers (see <see cref="Normalise"/>).
/// </summary>
public sealed class Database
{
    /// <summary>How long a unit of work is repeated through a lost node or a lost certification (<see cref="Failover"/>)
    /// when <c>Failover:PatienceSeconds</c> does not say.</summary>
    public static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(60);

    public Database(IConfiguration configuration)
    {
        Patience = TimeSpan.FromSeconds(configuration.GetValue("Failover:PatienceSeconds", DefaultPatience.TotalSeconds));
        var configured = configuration.GetConnectionString("AkshareWeb");
        if (string.IsNullOrWhiteSpace(configured))
        {
            throw new InvalidOperationException(
                "No database configured: set ConnectionStrings__AkshareWeb (or AKSHAREWEB__ConnectionStrings__AkshareWeb), " +
                "or start the service with scripts/run.sh, which starts a private MariaDB.");
        }

        ConnectionString = Normalise(configured);
    }

    public string ConnectionString { get; }

    /// <summary>How long a unit of work is repeated through a failover before its failure stands.</summary>
    public TimeSpan Patience { get; }

    /// <summary>Runs <paramref name="work"/> again after a transient failure, for <see cref="Patience"/> (<see cref="Failover.RetryAsync{T}"/>).</summary>
    public Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct, ILogger? logger = null, string? what = null) =>
        Failover.RetryAsync(work, Patience, ct, logger: logger, what: what);

    /// <inheritdoc cref="RetryAsync{T}"/>
    public Task RetryAsync(Func<CancellationToken, Task> work, CancellationToken ct, ILogger? logger = null, string? what = null) =>
        Failover.RetryAsync(work, Patience, ct, logger: logger, what: what);

    public async Task<MySqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = await OpenAsync(ConnectionString, ct);
        if (Opened is not { } hook) return connection;
        try
        {
            await hook(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Tests only: awaited with every connection <see cref="OpenAsync(CancellationToken)"/> opens, before it is
    /// handed out, so a test can make the database fail as an outage makes it fail. Null in the service.</summary>
    internal Func<MySqlConnection, Task>? Opened { get; set; }

    /// <summary>
    /// What a database that stopped answering surfaces as: MySqlConnector's own exception, or the socket's, bare (a
    /// pooled connection whose socket the network reset fails its first command with a SocketException or IOException).
    /// </summary>
    public static bool IsOutage(Exception e) => e is MySqlException or IOException or System.Net.Sockets.SocketException;

    /// <summary>For Hangfire's storage (which cannot wait asynchronously): on a cluster its reads are causal, since it
    /// reads a job back right after another connection queued it (<see cref="ClusterNodes"/>).</summary>
    public MySqlConnection Open() =>
        ClusterNodes.For(ConnectionString) is { } nodes ? nodes.Open(causal: true) : ClusterNodes.OpenOrder(ConnectionString);

    /// <summary>An open connection, or none at all: a connection that failed to open is disposed, not leaked. On a
    /// cluster, to a node that serves queries (<see cref="ClusterNodes"/>).</summary>
    public static Task<MySqlConnection> OpenAsync(string connectionString, CancellationToken ct) =>
        ClusterNodes.For(connectionString) is { } nodes ? nodes.OpenAsync(ct) : ClusterNodes.OpenOrderAsync(connectionString, ct);

    /// <summary>Forces the settings the application relies on, whatever the operator wrote.</summary>
    public static string Normalise(string connectionString)
    {
        var builder = new MySqlConnectionStringBuilder(NormaliseSession(connectionString));
        if (builder.Server.Contains(',', StringComparison.Ordinal))
        {
            // The nodes of a Galera cluster: every writer on one node at a time, the first of the list that answers.
            // GET_LOCK and row locks are local to a node, and rows written on two nodes at once conflict at COMMIT;
            // spreading connections over the nodes (MySqlConnector's default, round robin) would make the server locks
            // mean nothing and turn every shared row into conflicts.
            builder.LoadBalance = MySqlLoadBalance.FailOver;
            // After a failover, connections in the pool stay on the node they moved to; renewed after a minute at most,
            // they come back to the first node once it is back, with everyone else's.
            if (builder.ConnectionLifeTime == 0) builder.ConnectionLifeTime = 60;
        }

        return builder.ConnectionString;
    }

    /// <summary>The session settings every connection has, whatever the operator wrote: UTF-8, UTC, local files.</summary>
    public static string NormaliseSession(string connectionString) => new MySqlConnectionStringBuilder(connectionString)
    {
        CharacterSet = "utf8mb4",
        // DATETIME values are written and read as UTC; the server's own zone must not leak in.
        DateTimeKind = MySqlDateTimeKind.Utc,
        ConvertZeroDateTime = true,
        AllowLoadLocalInfile = true,
    }.ConnectionString;
}
