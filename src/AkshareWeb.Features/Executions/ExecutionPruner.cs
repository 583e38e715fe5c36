using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Deletes finished executions older than <see cref="ExecutionOptions.RetentionDays"/> with their parts, participants
/// and call records, a thousand at a time, once per <see cref="ExecutionOptions.PruneIntervalMinutes"/>: nothing else
/// ever deletes them, and a parted run leaves a row per part. Each task's newest execution stays whatever its age (its
/// last status, and what a user looks at first). Every instance prunes; a row deleted twice is no harm.
/// </summary>
public sealed class ExecutionPruner(Database database, IOptions<ExecutionOptions> options, TimeProvider time, ILogger<ExecutionPruner> logger)
    : BackgroundLoop(time, logger)
{
    private const int Batch = 1000;

    protected override string Work => "Pruning old executions";

    // A retention of 0 keeps everything: the loop then never runs a round.
    protected override TimeSpan Interval => options.Value.RetentionDays <= 0
        ? Timeout.InfiniteTimeSpan
        : TimeSpan.FromMinutes(Math.Max(1 / 60.0, options.Value.PruneIntervalMinutes));

    protected override bool WaitsBeforeFirstRound => true;

    protected override async Task RoundAsync(CancellationToken ct)
    {
        var pruned = await PruneAsync(ct);
        if (pruned > 0) logger.LogInformation("Pruned {Count} executions older than {Days} days", pruned, options.Value.RetentionDays);
    }

    /// <summary>How many executions were deleted.</summary>
    public async Task<long> PruneAsync(CancellationToken ct)
    {
        var before = Time.GetUtcNow().UtcDateTime - TimeSpan.FromDays(options.Value.RetentionDays);
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
            // The run's own row last: a run left without its parts is pruned no worse, parts left without their run never again.
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
