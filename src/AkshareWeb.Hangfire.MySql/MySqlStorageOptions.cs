using System.Text.RegularExpressions;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>Settings of <see cref="MySqlStorage"/>. Every setter rejects values that would break the storage.</summary>
public sealed partial class MySqlStorageOptions
{
    private string _tablesPrefix = "hangfire_";
    private TimeSpan _queuePollInterval = TimeSpan.FromSeconds(1);
    private TimeSpan _invisibilityTimeout = TimeSpan.FromMinutes(5);
    private TimeSpan _jobExpirationCheckInterval = TimeSpan.FromMinutes(30);
    private TimeSpan _countersAggregateInterval = TimeSpan.FromMinutes(5);
    private int _dashboardJobListLimit = 10_000;
    private int _expirationBatchSize = 1_000;
    private int _countersAggregateBatchSize = 1_000;

    /// <summary>Prefix of every table name; letters, digits and underscores, at most 24 characters.</summary>
    public string TablesPrefix
    {
        get => _tablesPrefix;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            // The prefix is spliced into identifiers, so it must never need quoting or escaping; 24 keeps
            // the longest table name well under MySQL's 64-character identifier limit.
            if (!PrefixPattern().IsMatch(value))
            {
                throw new ArgumentException("The table prefix may contain only letters, digits and '_' and be at most 24 characters long.", nameof(value));
            }

            _tablesPrefix = value;
        }
    }

    /// <summary>How often this process looks for jobs enqueued by other processes. Jobs enqueued here wake a worker at once.</summary>
    public TimeSpan QueuePollInterval
    {
        get => _queuePollInterval;
        set => _queuePollInterval = RequireAtLeast(value, TimeSpan.FromMilliseconds(10));
    }

    /// <summary>A fetched job whose claim was not refreshed for this long is handed to another worker.</summary>
    public TimeSpan InvisibilityTimeout
    {
        get => _invisibilityTimeout;
        set => _invisibilityTimeout = RequireAtLeast(value, TimeSpan.FromSeconds(1));
    }

    public TimeSpan JobExpirationCheckInterval
    {
        get => _jobExpirationCheckInterval;
        set => _jobExpirationCheckInterval = RequireAtLeast(value, TimeSpan.FromMilliseconds(100));
    }

    public TimeSpan CountersAggregateInterval
    {
        get => _countersAggregateInterval;
        set => _countersAggregateInterval = RequireAtLeast(value, TimeSpan.FromMilliseconds(100));
    }

    private TimeSpan _failoverPatience = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a transaction is repeated while the database does not answer (a Galera node lost: the next
    /// connection goes to the next host of the connection string) before its failure reaches Hangfire.
    /// </summary>
    public TimeSpan FailoverPatience
    {
        get => _failoverPatience;
        set => _failoverPatience = RequireAtLeast(value, TimeSpan.Zero);
    }

    /// <summary>
    /// Opens a connection (returned open) in place of the storage's own <c>new MySqlConnection(connectionString).Open()</c>:
    /// lets the host choose which node of a cluster the storage's connections go to, as its other connections do.
    /// </summary>
    public Func<MySqlConnector.MySqlConnection>? OpenConnection { get; set; }

    /// <summary>Removes a job from its queue in the same transaction that records its final state.</summary>
    public bool TransactionalAcknowledgement { get; set; } = true;

    /// <summary>Upper bound of the dashboard's per-state counts and paging, so a huge table cannot stall a page.</summary>
    public int DashboardJobListLimit
    {
        get => _dashboardJobListLimit;
        set => _dashboardJobListLimit = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>Rows deleted per statement by the expiration manager.</summary>
    public int ExpirationBatchSize
    {
        get => _expirationBatchSize;
        set => _expirationBatchSize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>Counter rows folded per transaction by the counters aggregator.</summary>
    public int CountersAggregateBatchSize
    {
        get => _countersAggregateBatchSize;
        set => _countersAggregateBatchSize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>Create or upgrade the schema when the storage is constructed.</summary>
    public bool PrepareSchemaIfNecessary { get; set; } = true;

    /// <summary>Clock used for waits and the dashboard graphs; database rows are stamped with the server's UTC clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal MySqlStorageOptions Clone() => (MySqlStorageOptions)MemberwiseClone();

    private static TimeSpan RequireAtLeast(TimeSpan value, TimeSpan minimum, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
        => value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, $"Must be at least {minimum}.");

    [GeneratedRegex("^[A-Za-z0-9_]{0,24}$")]
    private static partial Regex PrefixPattern();
}
