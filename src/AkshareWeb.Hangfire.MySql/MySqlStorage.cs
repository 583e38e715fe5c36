using System.Data;
using Hangfire;
using Hangfire.Server;
using Hangfire.Storage;
using MySqlConnector;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>Hangfire job storage on MySQL 8.0+ / MariaDB 10.6+.</summary>
public sealed class MySqlStorage : JobStorage
{
    private const int MaxTransientRetries = 8;

    // Transaction.CreateJob and Transaction.SetJobParameter are deliberately absent: core then creates jobs
    // through CreateExpiredJob, which this storage implements.
    private static readonly HashSet<string> SupportedFeatures = new(StringComparer.OrdinalIgnoreCase)
    {
        JobStorageFeatures.JobQueueProperty,
        JobStorageFeatures.ExtendedApi,
        JobStorageFeatures.ProcessesInsteadOfComponents,
        JobStorageFeatures.Connection.GetUtcDateTime,
        JobStorageFeatures.Connection.BatchedGetFirstByLowest,
        JobStorageFeatures.Connection.GetSetContains,
        JobStorageFeatures.Connection.LimitedGetSetCount,
        JobStorageFeatures.Transaction.AcquireDistributedLock,
        JobStorageFeatures.Monitoring.AwaitingJobs,
        JobStorageFeatures.Monitoring.DeletedStateGraphs,
    };

    private readonly string _connectionString;
    private readonly string _displayName;

    public MySqlStorage(string connectionString, MySqlStorageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Options = (options ?? new MySqlStorageOptions()).Clone();

        var builder = new MySqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.Database))
        {
            throw new ArgumentException("The connection string must name a database.", nameof(connectionString));
        }

        // Every DATETIME column holds UTC; reading it as Kind=Utc keeps core's comparisons honest, and
        // makes MySqlConnector refuse to write a local time by accident.
        builder.DateTimeKind = MySqlDateTimeKind.Utc;
        _connectionString = builder.ConnectionString;
        Database = builder.Database;
        _displayName = $"MySQL {builder.Server}:{builder.Port}/{builder.Database} (prefix '{Options.TablesPrefix}')";

        Tables = new TableNames(Options.TablesPrefix);
        Locks = new LockNames(Database, Options.TablesPrefix);
        Queue = new MySqlJobQueue(this);
        FetchedJobs = new FetchedJobRegistry();

        if (Options.PrepareSchemaIfNecessary)
        {
            MySqlSchema.Install(this);
        }
    }

    public MySqlStorageOptions Options { get; }

    internal string Database { get; }

    internal TableNames Tables { get; }

    internal LockNames Locks { get; }

    internal MySqlJobQueue Queue { get; }

    internal FetchedJobRegistry FetchedJobs { get; }

    internal TimeProvider Clock => Options.TimeProvider;

    /// <summary>Test hook: runs on every connection right after it opens (e.g. to move the session time zone).</summary>
    internal Action<MySqlConnection>? ConnectionOpened { get; set; }

    public override bool LinearizableReads => true;

    public override IMonitoringApi GetMonitoringApi() => new MySqlMonitoringApi(this);

    public override IStorageConnection GetConnection() => new MySqlStorageConnection(this);

    public override bool HasFeature(string featureId)
    {
        ArgumentNullException.ThrowIfNull(featureId);
        if (SupportedFeatures.Contains(featureId))
        {
            return true;
        }

        return Options.TransactionalAcknowledgement
               && featureId == JobStorageFeatures.Transaction.RemoveFromQueue(typeof(MySqlFetchedJob))
               || base.HasFeature(featureId);
    }

    public override IEnumerable<IBackgroundProcess> GetStorageWideProcesses()
    {
        yield return new MySqlExpirationManager(this);
        yield return new MySqlCountersAggregator(this);
    }

    public override IEnumerable<IBackgroundProcess> GetServerRequiredProcesses()
    {
        yield return new MySqlFetchedJobKeepAlive(this);
    }

    public override string ToString() => _displayName;

    internal MySqlConnection CreateAndOpenConnection()
    {
        if (Options.OpenConnection is { } open)
        {
            var opened = open();
            ConnectionOpened?.Invoke(opened);
            return opened;
        }

        var connection = new MySqlConnection(_connectionString);
        try
        {
            connection.Open();
            ConnectionOpened?.Invoke(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    internal T UseConnection<T>(Func<MySqlConnection, T> action)
    {
        using var connection = CreateAndOpenConnection();
        return action(connection);
    }

    internal void UseConnection(Action<MySqlConnection> action)
    {
        using var connection = CreateAndOpenConnection();
        action(connection);
    }

    /// <summary>
    /// Runs <paramref name="action"/> in a READ COMMITTED transaction and repeats the whole of it on deadlock
    /// (1213, also how a Galera node reports a transaction that lost certification) or lock wait timeout (1205).
    /// READ COMMITTED avoids the gap locks that make concurrent inserts into the same index range deadlock under
    /// REPEATABLE READ; the level applies to this transaction only. A database that does not answer (its node lost,
    /// not yet synced, shutting down) is waited for, on a new connection each time, for <see cref="MySqlStorageOptions.FailoverPatience"/>.
    /// <paramref name="beforeCommit"/> runs last inside the transaction (the locks it was taken under are checked there).
    /// </summary>
    internal T UseTransaction<T>(Func<MySqlConnection, MySqlTransaction, T> action, Action? beforeCommit = null)
    {
        var started = Clock.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var connection = CreateAndOpenConnection();
                using var transaction = connection.BeginTransaction(IsolationLevel.ReadCommitted);
                var result = action(connection, transaction);
                beforeCommit?.Invoke();
                transaction.Commit();
                return result;
            }
            catch (MySqlException ex) when (IsTransient(ex) && attempt < MaxTransientRetries)
            {
                // 1205 rolls back only the statement by default, so the whole transaction was abandoned
                // above (dispose rolls back) and is replayed from the start.
                Thread.Sleep(Random.Shared.Next(5, 20 * attempt));
            }
            // A lock lost with its session (its cause is a broken connection too) is not waited for: it does not come back.
            catch (Exception ex) when (ex is not DistributedLockLostException && IsUnavailable(ex) && Clock.GetElapsedTime(started) < Options.FailoverPatience)
            {
                // A COMMIT whose answer was lost may have happened: the replay can apply the writes twice, which
                // Hangfire's contract allows (a job may run more than once; AkshareWeb's runs are keyed).
                Thread.Sleep(Math.Min(2000, 100 * attempt));
            }
        }
    }

    internal void UseTransaction(Action<MySqlConnection, MySqlTransaction> action, Action? beforeCommit = null)
        => UseTransaction<object?>((c, t) =>
        {
            action(c, t);
            return null;
        }, beforeCommit);

    internal static bool IsTransient(MySqlException ex)
        => ex.ErrorCode is MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout;

    /// <summary>
    /// The server is not there for this connection: none could be opened, it broke under a statement (a bare socket
    /// error, or one MySqlConnector wraps), the server shuts down or killed the session, or a Galera node is not a
    /// synced member (1047).
    /// </summary>
    internal static bool IsUnavailable(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // 1180 with a wsrep message: the node was out of the primary component for a moment (a view change).
                case MySqlException m when m.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.UnknownCommand or MySqlErrorCode.ServerShutdown
                    || (int)m.ErrorCode is 1927 or 2006 or 2013
                    || (m.ErrorCode == MySqlErrorCode.ErrorDuringCommit && m.Message.Contains("Primary Component", StringComparison.OrdinalIgnoreCase)):
                case IOException or System.Net.Sockets.SocketException:
                case InvalidOperationException when e.Source == "MySqlConnector" && (e.Message.Contains("Broken", StringComparison.Ordinal) || e.Message.Contains("Failed", StringComparison.Ordinal)):
                    return true;
            }
        }

        return false;
    }
}
