using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Executions;

/// <summary>What decides an automatic retry: the run's end and its task's retry settings (null without a task).</summary>
public sealed record RetryPolicy(string Status, int RetryCount, bool? RetryOnFailure, int? MaxRetries);

/// <summary>
/// The SQL of what happens to runs after they end or die: retries (a copy of the run and of its unfinished
/// parts), the watchdog's recovery of runs and parts whose worker stopped answering, and the parted runs an
/// instance may join.
/// </summary>
public sealed partial class ExecutionStore
{
    public async Task<RetryPolicy?> RetryPolicyAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<RetryPolicy>(new CommandDefinition("""
            SELECT e.status AS Status, e.retry_count AS RetryCount, t.retry_on_failure AS RetryOnFailure, t.max_retries AS MaxRetries
            FROM executions e LEFT JOIN scheduled_tasks t ON t.id = e.task_id WHERE e.execution_id = @executionId
            """, new { executionId }, cancellationToken: ct));
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
        var newId = NewExecutionId();
        await using var connection = await database.OpenAsync(ct);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var copied = await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO executions ({InsertColumns})
                SELECT @newId, COALESCE(@userId, user_id), @pending, 'retry', execution_id, retry_count + 1, 0, @now, @scheduleKey, {PlanColumns}
                FROM executions WHERE execution_id = @executionId
                """, new { newId, userId, pending = ExecutionStatuses.Pending, now = time.GetUtcNow().UtcDateTime, scheduleKey, executionId },
                transaction, cancellationToken: ct));
            if (copied != 1) return null;
            await CopyUnfinishedPartsAsync(connection, transaction, executionId, newId, ct);
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
    /// <paramref name="staleBefore"/> (except those this instance holds), and gives parts whose runner stopped
    /// answering back to pending. SKIP LOCKED lets instances share the work without taking a run twice.
    /// </summary>
    public async Task<(IReadOnlyList<string> Dead, int PartsFreed)> RecoverStaleAsync(
        DateTime staleBefore, IReadOnlyCollection<string> heldHere, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var dead = (await connection.QueryAsync<string>(new CommandDefinition("""
            SELECT execution_id FROM executions WHERE status = @running AND heartbeat_at < @staleBefore AND parts_total IS NULL
            ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED
            """, new { running = ExecutionStatuses.Running, staleBefore }, transaction, cancellationToken: ct))).Where(id => !heldHere.Contains(id)).ToList();
        if (dead.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE executions SET status = @failed, end_time = @now,
                  error_message = CONCAT('the worker running it stopped answering (', COALESCE(worker, 'unknown'), '); rows it wrote before stay, keyed, and a re-run cannot duplicate them')
                WHERE execution_id IN @dead AND status = @running
                """, new { failed = ExecutionStatuses.Failed, running = ExecutionStatuses.Running, now, dead }, transaction, cancellationToken: ct));
        }

        var freed = await FreeStalePartsAsync(connection, transaction, staleBefore, ct);
        await transaction.CommitAsync(ct);
        return (dead, freed);
    }

    /// <summary>Running parted runs with parts left, or whose participants all stopped beating (one must end
    /// it), with their task's timeout.</summary>
    public async Task<IReadOnlyList<(string ExecutionId, int? TimeoutSeconds)>> OpenPartedRunsAsync(DateTime staleBefore, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<(string, int?)>(new CommandDefinition("""
            SELECT e.execution_id, t.timeout_seconds FROM executions e LEFT JOIN scheduled_tasks t ON t.id = e.task_id
            WHERE e.status = @running AND e.parts_total IS NOT NULL
              AND (EXISTS (SELECT 1 FROM execution_parts p WHERE p.execution_id = e.execution_id AND p.status = 'pending') OR e.heartbeat_at < @staleBefore)
            ORDER BY e.id LIMIT 20
            """, new { running = ExecutionStatuses.Running, staleBefore }, cancellationToken: ct))).ToList();
    }
}
