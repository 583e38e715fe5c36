using System.Text.Json;
using Dapper;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Hangfire's read side and the operations that are not part of a write transaction. Each call borrows a
/// pooled connection; only held distributed locks keep sessions of their own.
/// </summary>
internal sealed class MySqlStorageConnection : JobStorageConnection
{
    private readonly MySqlStorage _storage;
    private readonly TableNames _t;

    public MySqlStorageConnection(MySqlStorage storage)
    {
        _storage = storage;
        _t = storage.Tables;
        Locks = new LockRegistry(storage);
    }

    internal LockRegistry Locks { get; }

    public override void Dispose()
    {
        Locks.Dispose();
        base.Dispose();
    }

    public override IWriteOnlyTransaction CreateWriteTransaction() => new MySqlWriteOnlyTransaction(_storage, this);

    public override IDisposable AcquireDistributedLock(string resource, TimeSpan timeout) => Locks.Acquire(resource, timeout);

    public override string CreateExpiredJob(Job job, IDictionary<string, string?> parameters, DateTime createdAt, TimeSpan expireIn)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(parameters);
        var (invocationData, arguments) = JobPayload.Serialize(job);
        var createdUtc = createdAt.ToUniversalTime();
        var id = _storage.UseTransaction((connection, transaction) =>
        {
            var jobId = connection.ExecuteScalar<long>(
                $"""
                INSERT INTO {_t.Job} (`InvocationData`, `Arguments`, `CreatedAt`, `ExpireAt`)
                VALUES (@invocationData, @arguments, @createdAt, @expireAt);
                SELECT LAST_INSERT_ID();
                """,
                new { invocationData, arguments, createdAt = createdUtc, expireAt = createdUtc.Add(expireIn) },
                transaction);
            if (parameters.Count > 0)
            {
                connection.Execute(
                    $"INSERT INTO {_t.JobParameter} (`JobId`, `Name`, `Value`) VALUES (@jobId, @Key, @Value)",
                    parameters.Select(p => new { jobId, p.Key, p.Value }),
                    transaction);
            }

            return jobId;
        });
        return JobPayload.FormatId(id);
    }

    public override IFetchedJob FetchNextJob(string[] queues, CancellationToken cancellationToken)
        => _storage.Queue.Dequeue(queues, cancellationToken);

    public override void SetJobParameter(string id, string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(name);
        if (!JobPayload.TryParseId(id, out var jobId))
        {
            throw new ArgumentException($"'{id}' is not a job id of this storage.", nameof(id));
        }

        _storage.UseTransaction((connection, transaction) => connection.Execute(
            $"INSERT INTO {_t.JobParameter} (`JobId`, `Name`, `Value`) VALUES (@jobId, @name, @value) ON DUPLICATE KEY UPDATE `Value` = @value",
            new { jobId, name, value },
            transaction));
    }

    public override string? GetJobParameter(string id, string name)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(name);
        if (!JobPayload.TryParseId(id, out var jobId))
        {
            return null;
        }

        return _storage.UseConnection(connection => connection.QuerySingleOrDefault<string?>(
            $"SELECT `Value` FROM {_t.JobParameter} WHERE `JobId` = @jobId AND `Name` = @name",
            new { jobId, name }));
    }

    public override JobData? GetJobData(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        if (!JobPayload.TryParseId(jobId, out var id))
        {
            return null;
        }

        return _storage.UseConnection(connection =>
        {
            using var results = connection.QueryMultiple(
                $"""
                SELECT `InvocationData`, `Arguments`, `StateName`, `CreatedAt` FROM {_t.Job} WHERE `Id` = @id;
                SELECT `Name`, `Value` FROM {_t.JobParameter} WHERE `JobId` = @id;
                """,
                new { id });
            var row = results.ReadSingleOrDefault<JobRow>();
            var parameters = results.Read<(string Name, string? Value)>().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
            if (row is null)
            {
                return null;
            }

            var (data, job, error) = JobPayload.Deserialize(row.InvocationData, row.Arguments);
            return new JobData
            {
                Job = job,
                InvocationData = data,
                LoadException = error,
                State = row.StateName,
                CreatedAt = DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc),
                ParametersSnapshot = parameters,
            };
        });
    }

    public override StateData? GetStateData(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        if (!JobPayload.TryParseId(jobId, out var id))
        {
            return null;
        }

        var row = _storage.UseConnection(connection => connection.QuerySingleOrDefault<StateRow>(
            $"""
            SELECT s.`Name`, s.`Reason`, s.`Data`
            FROM {_t.Job} j JOIN {_t.State} s ON s.`Id` = j.`StateId`
            WHERE j.`Id` = @id
            """,
            new { id }));
        return row is null
            ? null
            : new StateData { Name = row.Name, Reason = row.Reason, Data = JobPayload.DeserializeStateData(row.Data) };
    }

    public override void AnnounceServer(string serverId, ServerContext context)
    {
        ArgumentNullException.ThrowIfNull(serverId);
        ArgumentNullException.ThrowIfNull(context);
        var data = JsonSerializer.Serialize(new ServerData(context.WorkerCount, context.Queues ?? [], _storage.Clock.GetUtcNow().UtcDateTime));
        _storage.UseConnection(connection => connection.Execute(
            $"""
            INSERT INTO {_t.Server} (`Id`, `Data`, `LastHeartbeat`) VALUES (@serverId, @data, UTC_TIMESTAMP(6))
            ON DUPLICATE KEY UPDATE `Data` = @data, `LastHeartbeat` = UTC_TIMESTAMP(6)
            """,
            new { serverId, data }));
    }

    public override void RemoveServer(string serverId)
    {
        ArgumentNullException.ThrowIfNull(serverId);
        _storage.UseConnection(connection => connection.Execute($"DELETE FROM {_t.Server} WHERE `Id` = @serverId", new { serverId }));
    }

    public override void Heartbeat(string serverId)
    {
        ArgumentNullException.ThrowIfNull(serverId);
        // Found-rows semantics (MySqlConnector's default) count a matched row even if the value did not
        // change, so zero really means the row is gone.
        var affected = _storage.UseConnection(connection => connection.Execute(
            $"UPDATE {_t.Server} SET `LastHeartbeat` = UTC_TIMESTAMP(6) WHERE `Id` = @serverId",
            new { serverId }));
        if (affected == 0)
        {
            throw new BackgroundServerGoneException();
        }
    }

    public override int RemoveTimedOutServers(TimeSpan timeOut)
    {
        if (timeOut < TimeSpan.Zero)
        {
            throw new ArgumentException("The timeout must be non-negative.", nameof(timeOut));
        }

        return _storage.UseConnection(connection => connection.Execute(
            $"DELETE FROM {_t.Server} WHERE `LastHeartbeat` < UTC_TIMESTAMP(6) - INTERVAL @us MICROSECOND",
            new { us = (long)timeOut.TotalMicroseconds }));
    }

    // ---- sets

    public override HashSet<string> GetAllItemsFromSet(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var values = _storage.UseConnection(connection => connection.Query<string>(
            $"SELECT `Value` FROM {_t.Set} WHERE `Key` = @key", new { key }));
        return new HashSet<string>(values, StringComparer.Ordinal);
    }

    public override string? GetFirstByLowestScoreFromSet(string key, double fromScore, double toScore)
        => GetFirstByLowestScoreFromSet(key, fromScore, toScore, 1).FirstOrDefault();

    public override List<string> GetFirstByLowestScoreFromSet(string key, double fromScore, double toScore, int count)
    {
        // Core probes for batching support by passing a null key and expecting exactly this exception.
        ArgumentNullException.ThrowIfNull(key, nameof(key));
        if (count <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "Must be positive.");
        }

        if (toScore < fromScore)
        {
            throw new ArgumentException("toScore must not be lower than fromScore.", nameof(toScore));
        }

        return _storage.UseConnection(connection => connection.Query<string>(
            $"SELECT `Value` FROM {_t.Set} WHERE `Key` = @key AND `Score` BETWEEN @fromScore AND @toScore ORDER BY `Score`, `Value` LIMIT @count",
            new { key, fromScore, toScore, count }).AsList());
    }

    public override long GetSetCount(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _storage.UseConnection(connection => connection.ExecuteScalar<long>(
            $"SELECT COUNT(*) FROM {_t.Set} WHERE `Key` = @key", new { key }));
    }

    public override long GetSetCount(IEnumerable<string> keys, int limit)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (limit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "Must be non-negative.");
        }

        var list = keys.ToList();
        if (list.Count == 0 || limit == 0)
        {
            return 0;
        }

        return _storage.UseConnection(connection => connection.ExecuteScalar<long>(
            $"SELECT COUNT(*) FROM (SELECT 1 FROM {_t.Set} WHERE `Key` IN @list LIMIT @limit) AS limited",
            new { list, limit }));
    }

    public override bool GetSetContains(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return _storage.UseConnection(connection => connection.ExecuteScalar<int?>(
            $"SELECT 1 FROM {_t.Set} WHERE `Key` = @key AND `Value` = @value", new { key, value })) == 1;
    }

    public override List<string> GetRangeFromSet(string key, int startingFrom, int endingAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var (offset, count) = Window(startingFrom, endingAt);
        if (count == 0)
        {
            return [];
        }

        return _storage.UseConnection(connection => connection.Query<string>(
            $"SELECT `Value` FROM {_t.Set} WHERE `Key` = @key ORDER BY `Score`, `Value` LIMIT @count OFFSET @offset",
            new { key, count, offset }).AsList());
    }

    public override TimeSpan GetSetTtl(string key) => Ttl(_t.Set, key);

    // ---- hashes

    public override void SetRangeInHash(string key, IEnumerable<KeyValuePair<string, string>> keyValuePairs)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(keyValuePairs);
        var rows = keyValuePairs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new { key, field = p.Key, value = p.Value }).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        _storage.UseTransaction((connection, transaction) => connection.Execute(
            $"INSERT INTO {_t.Hash} (`Key`, `Field`, `Value`) VALUES (@key, @field, @value) ON DUPLICATE KEY UPDATE `Value` = @value",
            rows,
            transaction));
    }

    public override Dictionary<string, string>? GetAllEntriesFromHash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rows = _storage.UseConnection(connection => connection.Query<(string Field, string Value)>(
            $"SELECT `Field`, `Value` FROM {_t.Hash} WHERE `Key` = @key", new { key }).AsList());
        // Null, not empty, for a missing hash: recurring-job code tells "gone" from "empty" this way.
        return rows.Count == 0 ? null : rows.ToDictionary(r => r.Field, r => r.Value, StringComparer.Ordinal);
    }

    public override string? GetValueFromHash(string key, string name)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(name);
        return _storage.UseConnection(connection => connection.QuerySingleOrDefault<string?>(
            $"SELECT `Value` FROM {_t.Hash} WHERE `Key` = @key AND `Field` = @name", new { key, name }));
    }

    public override long GetHashCount(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _storage.UseConnection(connection => connection.ExecuteScalar<long>(
            $"SELECT COUNT(*) FROM {_t.Hash} WHERE `Key` = @key", new { key }));
    }

    public override TimeSpan GetHashTtl(string key) => Ttl(_t.Hash, key);

    // ---- lists (newest first)

    public override long GetListCount(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _storage.UseConnection(connection => connection.ExecuteScalar<long>(
            $"SELECT COUNT(*) FROM {_t.List} WHERE `Key` = @key", new { key }));
    }

    public override List<string> GetAllItemsFromList(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _storage.UseConnection(connection => connection.Query<string>(
            $"SELECT `Value` FROM {_t.List} WHERE `Key` = @key ORDER BY `Id` DESC", new { key }).AsList());
    }

    public override List<string> GetRangeFromList(string key, int startingFrom, int endingAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var (offset, count) = Window(startingFrom, endingAt);
        if (count == 0)
        {
            return [];
        }

        return _storage.UseConnection(connection => connection.Query<string>(
            $"SELECT `Value` FROM {_t.List} WHERE `Key` = @key ORDER BY `Id` DESC LIMIT @count OFFSET @offset",
            new { key, count, offset }).AsList());
    }

    public override TimeSpan GetListTtl(string key) => Ttl(_t.List, key);

    // ---- counters and clock

    public override long GetCounter(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _storage.UseConnection(connection => connection.ExecuteScalar<long>(
            $"""
            SELECT CAST(
              (SELECT COALESCE(SUM(`Value`), 0) FROM {_t.Counter} WHERE `Key` = @key)
              + (SELECT COALESCE(SUM(`Value`), 0) FROM {_t.AggregatedCounter} WHERE `Key` = @key)
            AS SIGNED)
            """,
            new { key }));
    }

    public override DateTime GetUtcDateTime()
        => DateTime.SpecifyKind(_storage.UseConnection(connection => connection.ExecuteScalar<DateTime>("SELECT UTC_TIMESTAMP(6)")), DateTimeKind.Utc);

    private TimeSpan Ttl(string table, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var microseconds = _storage.UseConnection(connection => connection.ExecuteScalar<long?>(
            $"SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), MIN(`ExpireAt`)) FROM {table} WHERE `Key` = @key",
            new { key }));
        return microseconds is null ? TimeSpan.FromSeconds(-1) : TimeSpan.FromMicroseconds(microseconds.Value);
    }

    /// <summary>Turns Hangfire's inclusive [from, to] index range into OFFSET/LIMIT.</summary>
    internal static (int Offset, int Count) Window(int startingFrom, int endingAt)
    {
        var offset = Math.Max(0, startingFrom);
        var count = endingAt < offset ? 0 : endingAt - offset + 1;
        return (offset, count);
    }

    private sealed record StateRow(string Name, string? Reason, string? Data);

    private sealed record JobRow(string InvocationData, string? Arguments, string? StateName, DateTime CreatedAt);

    internal sealed record ServerData(int WorkerCount, string[] Queues, DateTime StartedAt);
}
