using System.Text.Json;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>Statuses of a part of a parted run (execution_parts.status).</summary>
public static class PartStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public static readonly string[] All = [Pending, Running, Completed, Failed, Cancelled];
}

/// <summary>A part as a runner takes it: its values (JSON) and how often it was tried.</summary>
public sealed record PartRow(long Id, int PartNo, string Parameters, int Tries);

/// <summary>How the parts of a run stand; Recent counts those that ended since the time asked about.</summary>
public sealed record PartCounts(
    long Total, long Done, long Failed, long Pending, long Running, long Cancelled, long Recent, long Fetched, long Written, long Inserted, long Updated)
{
    /// <summary>A run without parts (its sources could not be expanded).</summary>
    public static readonly PartCounts None = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>The share of parts that have ended, failed ones included (they are done with, until a retry).</summary>
    public int Progress => Total == 0 ? 0 : (int)Math.Min(100, 100 * (Done + Failed + Cancelled) / Total);
}

public enum PartClaimKind { Part, Busy, None, Stopped }

/// <summary>What a worker's attempt to take a part found.</summary>
public sealed record PartClaim(PartClaimKind Kind, PartRow? Part = null, bool CancelRequested = false);

/// <summary>A part as the API lists it; its values as stored (JSON).</summary>
public sealed record ExecutionPart(int PartNo, string Parameters, string Status, int Tries, long? RowsFetched, long? RowsWritten, string? ErrorMessage,
    DateTime? StartTime, DateTime? EndTime, string? Worker);

/// <summary>
/// <c>execution_parts</c> and <c>execution_participants</c>: the parts of parted runs and the instances taking part in
/// each. A part is claimed under its execution's row lock, so it runs once however many instances take part; a part
/// is recorded only by the worker that holds it.
/// </summary>
public sealed class PartStore(Database database, TimeProvider time)
{
    private const string CountsSql = """
        SELECT COUNT(*) AS Total, CAST(COALESCE(SUM(status = 'completed'), 0) AS SIGNED) AS Done, CAST(COALESCE(SUM(status = 'failed'), 0) AS SIGNED) AS Failed,
          CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED) AS Pending, CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED) AS Running,
          CAST(COALESCE(SUM(status = 'cancelled'), 0) AS SIGNED) AS Cancelled, CAST(COALESCE(SUM(end_time >= @recent), 0) AS SIGNED) AS Recent,
          CAST(COALESCE(SUM(rows_fetched), 0) AS SIGNED) AS Fetched, CAST(COALESCE(SUM(rows_written), 0) AS SIGNED) AS Written,
          CAST(COALESCE(SUM(rows_inserted), 0) AS SIGNED) AS Inserted, CAST(COALESCE(SUM(rows_updated), 0) AS SIGNED) AS Updated
        FROM execution_parts WHERE execution_id = @executionId
        """;

    private async Task<int> RunAsync(string sql, object args, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(sql, args, cancellationToken: ct));
    }

    /// <summary>The parts a run has already (a retry brings its own); 0 for a run just claimed.</summary>
    public async Task<long> CountAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM execution_parts WHERE execution_id = @executionId", new { executionId }, cancellationToken: ct));
    }

    /// <summary>The parts of a run, numbered from 1 in the order given, in one transaction.</summary>
    public async Task InsertAsync(string executionId, IReadOnlyList<Dictionary<string, string>> parts, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        for (var start = 0; start < parts.Count; start += 500)
        {
            var chunk = parts.Skip(start).Take(500).ToList();
            var sql = "INSERT INTO execution_parts (execution_id, part_no, parameters, status) VALUES "
                + string.Join(", ", chunk.Select((_, i) => $"(@e, @n{i}, @p{i}, 'pending')"));
            var args = new DynamicParameters();
            args.Add("e", executionId);
            for (var i = 0; i < chunk.Count; i++)
            {
                args.Add($"n{i}", start + i + 1);
                args.Add($"p{i}", JsonSerializer.Serialize(chunk[i]));
            }

            await connection.ExecuteAsync(new CommandDefinition(sql, args, transaction, cancellationToken: ct));
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>This instance is taking part now: the run's concurrency is shared among those seen lately.</summary>
    public Task SeenAsync(string executionId, string worker, CancellationToken ct) => RunAsync("""
        INSERT INTO execution_participants (execution_id, worker, seen_at) VALUES (@executionId, @worker, @now)
        ON DUPLICATE KEY UPDATE seen_at = VALUES(seen_at)
        """, new { executionId, worker, now = time.GetUtcNow().UtcDateTime }, ct);

    public Task LeaveAsync(string executionId, string worker) => RunAsync(
        "DELETE FROM execution_participants WHERE execution_id = @executionId AND worker = @worker", new { executionId, worker }, CancellationToken.None);

    /// <summary>
    /// Takes the next pending part for <paramref name="worker"/>, unless the run stopped (ended or cancel asked),
    /// no part is pending, or the run's concurrency is used up: in all, or this instance's share of it among the
    /// instances seen taking part in the last few seconds (<paramref name="runningHere"/> are its parts running).
    /// </summary>
    public async Task<PartClaim> ClaimAsync(string executionId, string worker, int concurrency, int runningHere, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var execution = await connection.QuerySingleOrDefaultAsync<(string Status, bool Cancel)>(new CommandDefinition(
            "SELECT status, cancel_requested FROM executions WHERE execution_id = @executionId FOR UPDATE", new { executionId }, transaction, cancellationToken: ct));
        if (execution.Status != ExecutionStatuses.Running || execution.Cancel) return new PartClaim(PartClaimKind.Stopped, CancelRequested: execution.Cancel);
        var counts = await connection.QuerySingleAsync<(long Running, long Pending)>(new CommandDefinition("""
            SELECT CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED), CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED) FROM execution_parts
            WHERE execution_id = @executionId AND status IN ('running', 'pending')
            """, new { executionId }, transaction, cancellationToken: ct));
        if (counts.Pending == 0) return new PartClaim(PartClaimKind.None);
        if (counts.Running >= concurrency) return new PartClaim(PartClaimKind.Busy);
        var participants = Math.Max(1, await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM execution_participants WHERE execution_id = @executionId AND seen_at >= @recent",
            new { executionId, recent = time.GetUtcNow().UtcDateTime.AddSeconds(-3) }, transaction, cancellationToken: ct)));
        if (runningHere >= (concurrency + participants - 1) / participants) return new PartClaim(PartClaimKind.Busy);
        var part = await connection.QuerySingleAsync<PartRow>(new CommandDefinition("""
            SELECT id AS Id, part_no AS PartNo, CAST(parameters AS CHAR) AS Parameters, tries AS Tries FROM execution_parts
            WHERE execution_id = @executionId AND status = 'pending' ORDER BY id LIMIT 1
            """, new { executionId }, transaction, cancellationToken: ct));
        var now = time.GetUtcNow().UtcDateTime;
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE execution_parts SET status = 'running', worker = @worker, start_time = @now, end_time = NULL, heartbeat_at = @now, error_message = NULL
            WHERE id = @Id
            """, new { worker, now, part.Id }, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
        return new PartClaim(PartClaimKind.Part, part);
    }

    /// <summary>The part's own values as they were fetched (a since_last date resolved at its start).</summary>
    public Task SaveParametersAsync(long partId, Dictionary<string, string> own, CancellationToken ct) => RunAsync(
        "UPDATE execution_parts SET parameters = @parameters WHERE id = @partId", new { parameters = JsonSerializer.Serialize(own), partId }, ct);

    /// <summary>How the part ended; back to pending (not a try) when the service stopped under it. Only the
    /// worker holding the part records it: a part the watchdog gave to someone else is theirs now.</summary>
    public Task RecordAsync(long partId, string worker, string status, int tries, long fetched, long inserted, long updated, string? error) => RunAsync("""
        UPDATE execution_parts SET status = @status, tries = tries + @tries, rows_fetched = @fetched, rows_written = @written,
          rows_inserted = @inserted, rows_updated = @updated,
          error_message = @error, end_time = @end, heartbeat_at = @end
        WHERE id = @partId AND worker = @worker AND status = 'running'
        """, new
    {
        status,
        tries = status == PartStatuses.Pending ? 0 : Math.Max(1, tries),
        fetched,
        written = inserted + updated,
        inserted,
        updated,
        error,
        end = status == PartStatuses.Pending ? (DateTime?)null : time.GetUtcNow().UtcDateTime,
        partId,
        worker,
    }, CancellationToken.None);

    /// <summary>Parts of running executions that wait for their turn and that run now, on every instance.</summary>
    public async Task<(long Waiting, long Running)> OpenAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleAsync<(long, long)>(new CommandDefinition("""
            SELECT CAST(COALESCE(SUM(p.status = 'pending'), 0) AS SIGNED), CAST(COALESCE(SUM(p.status = 'running'), 0) AS SIGNED)
            FROM executions e JOIN execution_parts p ON p.execution_id = e.execution_id AND p.status IN ('pending', 'running')
            WHERE e.status = 'running'
            """, cancellationToken: ct));
    }

    /// <summary>The heartbeats of the parts <paramref name="worker"/> runs; one the watchdog gave to another meanwhile
    /// (this instance was cut off for long) is not kept alive from here.</summary>
    public Task BeatAsync(IReadOnlyCollection<long> parts, string worker, CancellationToken ct) => parts.Count == 0 ? Task.CompletedTask : RunAsync(
        "UPDATE execution_parts SET heartbeat_at = @now WHERE id IN @parts AND status = 'running' AND worker = @worker",
        new { now = time.GetUtcNow().UtcDateTime, parts, worker }, ct);

    public async Task<PartCounts> CountsAsync(string executionId, DateTime recent, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleAsync<PartCounts>(new CommandDefinition(CountsSql, new { executionId, recent }, cancellationToken: ct));
    }

    /// <summary>The parts <paramref name="worker"/> had open go back to pending for whoever continues.</summary>
    public Task ReleaseAsync(string executionId, string worker) => RunAsync(
        "UPDATE execution_parts SET status = 'pending', worker = NULL, heartbeat_at = NULL WHERE execution_id = @executionId AND worker = @worker AND status = 'running'",
        new { executionId, worker }, CancellationToken.None);

    public Task CancelPendingAsync(string executionId) => RunAsync("""
        UPDATE execution_parts SET status = 'cancelled', error_message = 'cancelled before it started', end_time = @now
        WHERE execution_id = @executionId AND status = 'pending'
        """, new { executionId, now = time.GetUtcNow().UtcDateTime }, CancellationToken.None);

    /// <summary>A page of a run's parts, in their order.</summary>
    public async Task<Paged<ExecutionPart>> ListAsync(string executionId, string? status, PageRequest paging, CancellationToken ct)
    {
        var where = "WHERE execution_id = @executionId" + (status is null ? "" : " AND status = @status");
        var args = new { executionId, status, limit = paging.PageSize, offset = paging.Offset };
        await using var connection = await database.OpenAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM execution_parts {where}", args, cancellationToken: ct));
        var rows = await connection.QueryAsync<ExecutionPart>(new CommandDefinition($"""
            SELECT part_no AS PartNo, CAST(parameters AS CHAR) AS Parameters, status AS Status, tries AS Tries, rows_fetched AS RowsFetched,
              rows_written AS RowsWritten, error_message AS ErrorMessage, start_time AS StartTime, end_time AS EndTime, worker AS Worker
            FROM execution_parts {where} ORDER BY part_no LIMIT @limit OFFSET @offset
            """, args, cancellationToken: ct));
        return Paged<ExecutionPart>.Of(rows.ToList(), total, paging);
    }

    /// <summary>
    /// Gives back to pending, for whoever continues, the parts running without a heartbeat since
    /// <paramref name="staleBefore"/> whose worker is known to be gone (<see cref="InstanceStore.WorkerGone"/>), except
    /// those of the runs this instance takes part in.
    /// </summary>
    public Task<int> FreeStaleAsync(DateTime staleBefore, DateTime instanceSilentBefore, string me, IReadOnlyCollection<string> partedHere, CancellationToken ct) => RunAsync($"""
        UPDATE execution_parts p SET p.status = 'pending', p.worker = NULL, p.heartbeat_at = NULL
        WHERE p.status = 'running' AND p.heartbeat_at < @staleBefore AND {InstanceStore.WorkerGone("p")}
          AND NOT (p.worker = @me AND p.execution_id IN @partedHere)
        """, new { staleBefore, me, instanceSilentBefore, partedHere }, ct);

    /// <summary>The parts of <paramref name="from"/> that did not succeed become pending parts of <paramref name="to"/>.</summary>
    public static Task CopyUnfinishedAsync(MySqlConnection connection, MySqlTransaction transaction, string from, string to, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO execution_parts (execution_id, part_no, parameters, status)
            SELECT @to, part_no, parameters, 'pending' FROM execution_parts
            WHERE execution_id = @from AND status IN ('failed', 'cancelled', 'pending', 'running')
            """, new { to, from }, transaction, cancellationToken: ct));
}
