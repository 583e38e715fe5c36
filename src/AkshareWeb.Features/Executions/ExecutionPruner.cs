using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Deletes finished executions older than <see cref="ExecutionOptions.RetentionDays"/> with their parts and call
/// records, a thousand at a time, once per <see cref="ExecutionOptions.PruneIntervalMinutes"/>: nothing else ever
/// deletes them, and a parted run leaves a row per part. Each task's newest execution stays whatever its age (its
/// last_status, and what a user looks at first). Every instance prunes; a row deleted twice is no harm.
/// </summary>
public sealed class ExecutionPruner(Database database, IOptions<ExecutionOptions> options, TimeProvider time, ILogger<ExecutionPruner> logger)
    : BackgroundService
{
    private const int Batch = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.RetentionDays <= 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(Math.Max(1, options.Value.PruneIntervalMinutes)), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var pruned = await PruneAsync(stoppingToken);
                if (pruned > 0) logger.LogInformation("Pruned {Count} executions older than {Days} days", pruned, options.Value.RetentionDays);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // A background service that throws stops the whole host: whatever went wrong (the database away, a
                // reset connection), the pruner tries again at its next tick.
                logger.LogWarning(e, "Pruning old executions failed; it is tried again at the next tick");
            }
        }
    }

    /// <summary>How many executions were deleted.</summary>
    public async Task<long> PruneAsync(CancellationToken ct)
    {
        var before = time.GetUtcNow().UtcDateTime - TimeSpan.FromDays(options.Value.RetentionDays);
        long pruned = 0;
        while (true)
        {
            await using var connection = await database.OpenAsync(ct);
            var ids = (await connection.QueryAsync<string>(new CommandDefinition("""
                SELECT e.execution_id FROM executions e
                WHERE e.created_at < @before AND e.status IN @finished
                  AND (e.task_id IS NULL OR e.id < (SELECT MAX(l.id) FROM executions l WHERE l.task_id = e.task_id))
                ORDER BY e.id LIMIT @batch
                """, new { before, finished = ExecutionStatuses.Finished, batch = Batch }, cancellationToken: ct))).ToList();
            if (ids.Count == 0) return pruned;
            // The parts first: a run left without its row would never be pruned again, a row without its parts is.
            await connection.ExecuteAsync(new CommandDefinition("""
                DELETE FROM execution_parts WHERE execution_id IN @ids;
                DELETE FROM execution_calls WHERE execution_id IN @ids;
                DELETE FROM execution_participants WHERE execution_id IN @ids;
                DELETE FROM executions WHERE execution_id IN @ids;
                """, new { ids }, cancellationToken: ct));
            pruned += ids.Count;
            if (ids.Count < Batch) return pruned;
        }
    }
}
