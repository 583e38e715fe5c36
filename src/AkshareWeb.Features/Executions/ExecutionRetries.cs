using Dapper;
using Hangfire;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;
using AkshareWeb.Features.Collection;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Retries: a new execution linked to the one it repeats (retry_of, retry_count + 1), with the same snapshot of
/// what to run. Automatic ones follow the task (retry_on_failure, max_retries, capped by the global settings)
/// with exponential backoff; their schedule key makes a second retry of the same failure impossible.
/// </summary>
public sealed class ExecutionRetries(
    Database database, SystemSettings settings, IBackgroundJobClient jobs, ExecutionDispatcher dispatcher, IOptions<ExecutionOptions> options, TimeProvider time)
{
    private const string Copy = """
        INSERT INTO executions (execution_id, task_id, script_id, user_id, interface_name, parameters, parameter_sources, concurrency, target_table, write_mode,
          key_columns, extra_columns, dated_columns, display_name, category, status, triggered_by, retry_of, retry_count, progress, created_at, schedule_key)
        SELECT @newId, task_id, script_id, COALESCE(@userId, user_id), interface_name, parameters, parameter_sources, concurrency, target_table, write_mode,
          key_columns, extra_columns, dated_columns, display_name, category, 'pending', 'retry', execution_id, retry_count + 1, 0, @now, @scheduleKey
        FROM executions WHERE execution_id = @executionId
        """;

    /// <summary>After a run ended: schedules the retry its task asks for, if any.</summary>
    public async Task RetryIfAskedAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var run = await connection.QuerySingleOrDefaultAsync<(string Status, int RetryCount, bool? RetryOnFailure, int? MaxRetries)>(new CommandDefinition("""
            SELECT e.status, e.retry_count, t.retry_on_failure, t.max_retries
            FROM executions e LEFT JOIN scheduled_tasks t ON t.id = e.task_id WHERE e.execution_id = @executionId
            """, new { executionId }, cancellationToken: ct));
        if (run.Status is not (ExecutionStatuses.Failed or ExecutionStatuses.Timeout) || run.RetryOnFailure != true)
        {
            return;
        }

        var global = await settings.GetExecutionSettingsAsync(ct);
        if (!global.RetryEnabled || run.RetryCount >= Math.Min(run.MaxRetries ?? 0, global.MaxRetries))
        {
            return;
        }

        var newId = await CopyAsync(connection, executionId, null, $"retry-of:{executionId}", ct);
        if (newId is null) return;
        var delay = TimeSpan.FromSeconds(options.Value.RetryBaseDelaySeconds * Math.Pow(2, run.RetryCount));
        jobs.Schedule<ExecutionJob>(j => j.RunAsync(newId, CancellationToken.None), delay);
    }

    /// <summary>A retry asked for by a user: any finished run, at once; a download's on the ad-hoc queue.</summary>
    public async Task<string> RetryNowAsync(string executionId, long userId, bool adhoc, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var newId = await CopyAsync(connection, executionId, userId, null, ct) ?? throw ApiError.NotFound("execution");
        if (adhoc)
        {
            dispatcher.DispatchAdhoc(newId);
        }
        else
        {
            dispatcher.Dispatch(newId);
        }

        return newId;
    }

    private async Task<string?> CopyAsync(MySqlConnector.MySqlConnection connection, string executionId, long? userId, string? scheduleKey, CancellationToken ct)
    {
        var newId = ExecutionStore.NewExecutionId();
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var copied = await connection.ExecuteAsync(new CommandDefinition(Copy,
                new { newId, userId, now = time.GetUtcNow().UtcDateTime, scheduleKey, executionId }, transaction, cancellationToken: ct));
            if (copied != 1) return null;
            // A parted run is retried by its parts that did not succeed (failed, or cancelled before they ran), with
            // the values they had; the parts that succeeded are not fetched again.
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO execution_parts (execution_id, part_no, parameters, status)
                SELECT @newId, part_no, parameters, 'pending' FROM execution_parts
                WHERE execution_id = @executionId AND status IN ('failed', 'cancelled', 'pending', 'running')
                """, new { newId, executionId }, transaction, cancellationToken: ct));
            await transaction.CommitAsync(ct);
            return newId;
        }
        catch (MySqlConnector.MySqlException e) when (e.ErrorCode == MySqlConnector.MySqlErrorCode.DuplicateKeyEntry)
        {
            return null;
        }
    }
}
