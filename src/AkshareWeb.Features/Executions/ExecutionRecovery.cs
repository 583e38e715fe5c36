using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>What of a run decides its automatic retry, beside its task's rules: how it ended, how often it was
/// retried, and its task (null without one).</summary>
public sealed record RetryState(string Status, int RetryCount, long? TaskId);

/// <summary>
/// What happens to runs after they end or die, in the <c>executions</c> table: retries (a copy of the run, and of its
/// unfinished parts through <see cref="PartStore"/>), the watchdog's recovery of runs whose worker stopped answering,
/// and the parted runs an instance may join.
/// </summary>
public sealed class ExecutionRecovery(Database database, TimeProvider time, PartStore parts)
{
    public async Task<RetryState?> RetryStateAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<RetryState>(new CommandDefinition(
            "SELECT status AS Status, retry_count AS RetryCount, task_id AS TaskId FROM executions WHERE execution_id = @executionId",
            new { executionId }, cancellationToken: ct));
    }

    /// <summary>
    /// A pending retry of the run: the same plan, linked to it (retry_of, retry_count + 1), acting for
    /// <paramref name="userId"/> or else for the run's user. A parted run is retried by its parts that did not
    /// succeed (failed, or cancelled before they ran), with the values they had; the parts that succeeded are not
    /// fetched again. Null when the run is unknown or the schedule key was already used (a second automatic
    /// retry of the same failure).
    /// </summary>
    public async Task<string?> CopyForRetryAsync(string executionId, long? userId, string? scheduleKey, CancellationToken ct)
    {
        var newId = ExecutionStore.NewExecutionId();
        await using var connection = await database.OpenAsync(ct);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var copied = await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO executions ({ExecutionStore.InsertColumns})
                SELECT @newId, COALESCE(@userId, user_id), @pending, 'retry', execution_id, retry_count + 1, 0, @now, @scheduleKey, {ExecutionStore.PlanColumns}
                FROM executions WHERE execution_id = @executionId
                """, new { newId, userId, pending = ExecutionStatuses.Pending, now = time.GetUtcNow().UtcDateTime, scheduleKey, executionId },
                transaction, cancellationToken: ct));
            if (copied != 1) return null;
            await PartStore.CopyUnfinishedAsync(connection, transaction, executionId, newId, ct);
            await transaction.CommitAsync(ct);
            return newId;
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            return null;
        }
    }

    /// <summary>
    /// Marks failed, with the reason, the single runs still 'running' without a heartbeat since
    /// <paramref name="staleBefore"/> whose worker is known to be gone: this instance (<paramref name="me"/>) when it
    /// no longer holds them, or an instance whose watchdog has not beaten since <paramref name="instanceSilentBefore"/>
    /// (or that never did, or stopped). Parts are given back to pending on the same terms. SKIP LOCKED lets
    /// instances share the work without taking a run twice.
    /// </summary>
    public async Task<(IReadOnlyList<string> Dead, int PartsFreed)> RecoverStaleAsync(
        DateTime staleBefore, DateTime instanceSilentBefore, string me, IReadOnlyCollection<string> heldHere, IReadOnlyCollection<string> partedHere, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var dead = (await connection.QueryAsync<(string Id, string? Worker)>(new CommandDefinition($"""
            SELECT e.execution_id, e.worker FROM executions e
            WHERE e.status = @running AND e.heartbeat_at < @staleBefore AND e.parts_total IS NULL AND {InstanceStore.WorkerGone("e")}
            ORDER BY e.id LIMIT 100 FOR UPDATE SKIP LOCKED
            """, new { running = ExecutionStatuses.Running, staleBefore, me, instanceSilentBefore }, transaction, cancellationToken: ct)))
            .Where(r => !(r.Worker == me && heldHere.Contains(r.Id))).Select(r => r.Id).ToList();
        if (dead.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE executions SET status = @failed, end_time = @now,
                  error_message = CONCAT('the worker running it stopped answering (', COALESCE(worker, 'unknown'), '); rows it wrote before stay, keyed, and a re-run cannot duplicate them')
                WHERE execution_id IN @dead AND status = @running
                """, new { failed = ExecutionStatuses.Failed, running = ExecutionStatuses.Running, now, dead }, transaction, cancellationToken: ct));
        }

        await transaction.CommitAsync(ct);
        // The parts are other rows (of parted runs): freed on the same terms, in a statement of their own.
        return (dead, await parts.FreeStaleAsync(staleBefore, instanceSilentBefore, me, partedHere, ct));
    }

    /// <summary>Running parted runs with parts left, or whose participants all stopped beating (one must end
    /// it), with their task.</summary>
    public async Task<IReadOnlyList<(string ExecutionId, long? TaskId)>> OpenPartedRunsAsync(DateTime staleBefore, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<(string, long?)>(new CommandDefinition("""
            SELECT e.execution_id, e.task_id FROM executions e
            WHERE e.status = @running AND e.parts_total IS NOT NULL
              AND (EXISTS (SELECT 1 FROM execution_parts p WHERE p.execution_id = e.execution_id AND p.status = 'pending') OR e.heartbeat_at < @staleBefore)
            ORDER BY e.id LIMIT 20
            """, new { running = ExecutionStatuses.Running, staleBefore }, cancellationToken: ct))).ToList();
    }
}
