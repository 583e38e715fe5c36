using Dapper;
using Hangfire.States;
using Hangfire.Storage;
using MySqlConnector;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Collects Hangfire's writes and applies them in one plain database transaction at Commit. Statements
/// run grouped by table and key (a stable sort, so writes to the same key keep their order): two
/// transactions touching the same rows then lock them in the same order, which removes most deadlocks;
/// the rest (1213, and 1205 lock wait timeouts) replay the whole batch. Just before COMMIT, every distributed
/// lock the storage connection holds is checked to be still held (<see cref="LockRegistry.EnsureHeld"/>): a lock's
/// session dies with the database node it was on, and writes made under a lock that is gone are not committed.
/// </summary>
internal sealed class MySqlWriteOnlyTransaction : JobStorageTransaction
{
    private readonly MySqlStorage _storage;
    private readonly MySqlStorageConnection _connection;
    private readonly TableNames _t;
    private readonly List<Command> _commands = [];
    private readonly List<string> _enqueuedTo = [];
    private readonly List<MySqlFetchedJob> _acknowledged = [];
    private readonly List<IDisposable> _locks = [];
    private bool _committed;

    public MySqlWriteOnlyTransaction(MySqlStorage storage, MySqlStorageConnection connection)
    {
        _storage = storage;
        _connection = connection;
        _t = storage.Tables;
    }

    private enum Area
    {
        Job,
        Queue,
        Set,
        List,
        Hash,
        Counter,
    }

    public override void Dispose()
    {
        foreach (var held in _locks)
        {
            held.Dispose();
        }

        _locks.Clear();
        base.Dispose();
    }

    public override void Commit()
    {
        if (_committed)
        {
            throw new InvalidOperationException("The transaction has already been committed.");
        }

        var ordered = _commands
            .OrderBy(c => c.Area)
            .ThenBy(c => c.Key, StringComparer.Ordinal)
            .ToList();
        if (ordered.Count > 0)
        {
            _storage.UseTransaction((connection, transaction) =>
            {
                foreach (var command in ordered)
                {
                    command.Run(connection, transaction);
                }

                // Acknowledgements are part of the same transaction: the job leaves its queue if and only
                // if its new state is recorded.
                // A stale holder's acknowledgement matches nothing (fencing token) and simply has no effect.
                foreach (var fetched in _acknowledged)
                {
                    fetched.Remove(connection, transaction);
                }
            }, _connection.Locks.EnsureHeld);
        }
        else if (_acknowledged.Count > 0)
        {
            _storage.UseTransaction((connection, transaction) =>
            {
                foreach (var fetched in _acknowledged)
                {
                    fetched.Remove(connection, transaction);
                }
            }, _connection.Locks.EnsureHeld);
        }

        _committed = true;
        foreach (var fetched in _acknowledged)
        {
            fetched.MarkRemoved();
        }

        foreach (var queue in _enqueuedTo)
        {
            _storage.Queue.Signal(queue);
        }
    }

    public override void AcquireDistributedLock(string resource, TimeSpan timeout)
        => _locks.Add(_connection.Locks.Acquire(resource, timeout));

    public override void RemoveFromQueue(IFetchedJob fetchedJob)
    {
        ArgumentNullException.ThrowIfNull(fetchedJob);
        if (fetchedJob is not MySqlFetchedJob ours)
        {
            throw new NotSupportedException($"{fetchedJob.GetType()} was not fetched from this storage.");
        }

        _acknowledged.Add(ours);
    }

    // ---- jobs

    public override void ExpireJob(string jobId, TimeSpan expireIn)
    {
        var id = ParseJobId(jobId);
        Add(Area.Job, jobId, (c, tx) => c.Execute(
            $"UPDATE {_t.Job} SET `ExpireAt` = UTC_TIMESTAMP(6) + INTERVAL @us MICROSECOND WHERE `Id` = @id",
            new { id, us = Microseconds(expireIn) }, tx));
    }

    public override void PersistJob(string jobId)
    {
        var id = ParseJobId(jobId);
        Add(Area.Job, jobId, (c, tx) => c.Execute($"UPDATE {_t.Job} SET `ExpireAt` = NULL WHERE `Id` = @id", new { id }, tx));
    }

    public override void SetJobState(string jobId, IState state)
    {
        var id = ParseJobId(jobId);
        ArgumentNullException.ThrowIfNull(state);
        var args = StateArgs(id, state);
        // The job row is locked first (UPDATE), then the history row is inserted and linked.
        // LAST_INSERT_ID() is per session, so it is the id of this very INSERT.
        Add(Area.Job, jobId, (c, tx) => c.Execute(
            $"""
            UPDATE {_t.Job} SET `StateName` = @name WHERE `Id` = @id;
            INSERT INTO {_t.State} (`JobId`, `Name`, `Reason`, `CreatedAt`, `Data`) VALUES (@id, @name, @reason, UTC_TIMESTAMP(6), @data);
            UPDATE {_t.Job} SET `StateId` = LAST_INSERT_ID() WHERE `Id` = @id;
            """,
            args, tx));
    }

    public override void AddJobState(string jobId, IState state)
    {
        var id = ParseJobId(jobId);
        ArgumentNullException.ThrowIfNull(state);
        var args = StateArgs(id, state);
        // Same area and key as SetJobState, so history rows keep the order Hangfire wrote them in.
        Add(Area.Job, jobId, (c, tx) => c.Execute(
            $"INSERT INTO {_t.State} (`JobId`, `Name`, `Reason`, `CreatedAt`, `Data`) VALUES (@id, @name, @reason, UTC_TIMESTAMP(6), @data)",
            args, tx));
    }

    public override void AddToQueue(string queue, string jobId)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var id = ParseJobId(jobId);
        Add(Area.Queue, queue, (c, tx) => c.Execute(
            $"INSERT INTO {_t.JobQueue} (`JobId`, `Queue`) VALUES (@id, @queue)", new { id, queue }, tx));
        _enqueuedTo.Add(queue);
    }

    // ---- counters

    public override void IncrementCounter(string key) => AddCounter(key, 1, null);

    public override void IncrementCounter(string key, TimeSpan expireIn) => AddCounter(key, 1, expireIn);

    public override void DecrementCounter(string key) => AddCounter(key, -1, null);

    public override void DecrementCounter(string key, TimeSpan expireIn) => AddCounter(key, -1, expireIn);

    private void AddCounter(string key, int value, TimeSpan? expireIn)
    {
        ArgumentNullException.ThrowIfNull(key);
        var us = expireIn is { } e ? Microseconds(e) : (long?)null;
        Add(Area.Counter, key, (c, tx) => c.Execute(
            $"""
            INSERT INTO {_t.Counter} (`Key`, `Value`, `ExpireAt`)
            VALUES (@key, @value, CASE WHEN @us IS NULL THEN NULL ELSE UTC_TIMESTAMP(6) + INTERVAL @us MICROSECOND END)
            """,
            new { key, value, us }, tx));
    }

    // ---- sets

    public override void AddToSet(string key, string value) => AddToSet(key, value, 0.0);

    public override void AddToSet(string key, string value, double score)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Add(Area.Set, key, (c, tx) => c.Execute(
            $"INSERT INTO {_t.Set} (`Key`, `Value`, `Score`) VALUES (@key, @value, @score) ON DUPLICATE KEY UPDATE `Score` = @score",
            new { key, value, score }, tx));
    }

    public override void AddRangeToSet(string key, IList<string> items)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(items);
        var rows = items.Select(value => new { key, value }).ToList();
        Add(Area.Set, key, (c, tx) => c.Execute(
            $"INSERT INTO {_t.Set} (`Key`, `Value`, `Score`) VALUES (@key, @value, 0) ON DUPLICATE KEY UPDATE `Score` = 0",
            rows, tx));
    }

    public override void RemoveFromSet(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Add(Area.Set, key, (c, tx) => c.Execute(
            $"DELETE FROM {_t.Set} WHERE `Key` = @key AND `Value` = @value", new { key, value }, tx));
    }

    public override void RemoveSet(string key) => DeleteKey(Area.Set, _t.Set, key);

    public override void ExpireSet(string key, TimeSpan expireIn) => Expire(Area.Set, _t.Set, key, expireIn);

    public override void PersistSet(string key) => Persist(Area.Set, _t.Set, key);

    // ---- lists

    public override void InsertToList(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        Add(Area.List, key, (c, tx) => c.Execute(
            $"INSERT INTO {_t.List} (`Key`, `Value`) VALUES (@key, @value)", new { key, value }, tx));
    }

    public override void RemoveFromList(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        Add(Area.List, key, (c, tx) => c.Execute(
            $"DELETE FROM {_t.List} WHERE `Key` = @key AND `Value` = @value", new { key, value }, tx));
    }

    public override void TrimList(string key, int keepStartingFrom, int keepEndingAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var (offset, count) = MySqlStorageConnection.Window(keepStartingFrom, keepEndingAt);
        // MySQL allows neither LIMIT directly inside IN (...) nor reading the table being deleted from;
        // the extra derived table is materialised first, which lifts both restrictions.
        Add(Area.List, key, (c, tx) => c.Execute(
            $"""
            DELETE FROM {_t.List}
            WHERE `Key` = @key AND `Id` NOT IN (
              SELECT `Id` FROM (
                SELECT `Id` FROM {_t.List} WHERE `Key` = @key ORDER BY `Id` DESC LIMIT @count OFFSET @offset
              ) AS kept
            )
            """,
            new { key, count, offset }, tx));
    }

    public override void ExpireList(string key, TimeSpan expireIn) => Expire(Area.List, _t.List, key, expireIn);

    public override void PersistList(string key) => Persist(Area.List, _t.List, key);

    // ---- hashes

    public override void SetRangeInHash(string key, IEnumerable<KeyValuePair<string, string>> keyValuePairs)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(keyValuePairs);
        var rows = keyValuePairs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new { key, field = p.Key, value = p.Value }).ToList();
        Add(Area.Hash, key, (c, tx) => c.Execute(
            $"INSERT INTO {_t.Hash} (`Key`, `Field`, `Value`) VALUES (@key, @field, @value) ON DUPLICATE KEY UPDATE `Value` = @value",
            rows, tx));
    }

    public override void RemoveHash(string key) => DeleteKey(Area.Hash, _t.Hash, key);

    public override void ExpireHash(string key, TimeSpan expireIn) => Expire(Area.Hash, _t.Hash, key, expireIn);

    public override void PersistHash(string key) => Persist(Area.Hash, _t.Hash, key);

    // ---- helpers

    private void DeleteKey(Area area, string table, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Add(area, key, (c, tx) => c.Execute($"DELETE FROM {table} WHERE `Key` = @key", new { key }, tx));
    }

    private void Expire(Area area, string table, string key, TimeSpan expireIn)
    {
        ArgumentNullException.ThrowIfNull(key);
        var us = Microseconds(expireIn);
        Add(area, key, (c, tx) => c.Execute(
            $"UPDATE {table} SET `ExpireAt` = UTC_TIMESTAMP(6) + INTERVAL @us MICROSECOND WHERE `Key` = @key", new { key, us }, tx));
    }

    private void Persist(Area area, string table, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Add(area, key, (c, tx) => c.Execute($"UPDATE {table} SET `ExpireAt` = NULL WHERE `Key` = @key", new { key }, tx));
    }

    private void Add(Area area, string key, Action<MySqlConnection, MySqlTransaction> run)
    {
        if (_committed)
        {
            throw new InvalidOperationException("The transaction has already been committed.");
        }

        _commands.Add(new Command(area, key, run));
    }

    private static object StateArgs(long id, IState state)
    {
        var reason = state.Reason;
        // The column is VARCHAR(100); Hangfire's reasons are informative text, so cut rather than fail.
        if (reason is { Length: > 100 })
        {
            reason = reason[..100];
        }

        return new { id, name = state.Name, reason, data = JobPayload.SerializeStateData(state.SerializeData()) };
    }

    private static long ParseJobId(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return JobPayload.TryParseId(jobId, out var id)
            ? id
            : throw new ArgumentException($"'{jobId}' is not a job id of this storage.", nameof(jobId));
    }

    private static long Microseconds(TimeSpan span) => (long)span.TotalMicroseconds;

    private sealed record Command(Area Area, string Key, Action<MySqlConnection, MySqlTransaction> Run);
}
