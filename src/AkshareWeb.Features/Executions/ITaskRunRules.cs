namespace AkshareWeb.Features.Executions;

/// <summary>A task as its runs need it: its name and owner (for what people are told of a run), the time a run (or
/// each part) may take, a parted run's overall limit, whether a failed run is retried, and whether each run is followed
/// by a backfill of its range (<see cref="IRunFollowUp"/>).</summary>
public sealed record TaskRunRules(string Name, long? OwnerId, int? TimeoutSeconds, bool RetryOnFailure, int MaxRetries, int? MaxRunMinutes = null,
    bool Backfill = false);

/// <summary>
/// What a run asks about its task, read when it starts and when it ends (the owner may change them meanwhile).
/// Tasks answers: it uses Executions, so Executions asks through this rather than reading Tasks' table.
/// </summary>
public interface ITaskRunRules
{
    /// <summary>The task's rules; null when the task is gone.</summary>
    Task<TaskRunRules?> ForTaskAsync(long taskId, CancellationToken ct);
}

/// <summary>For a host that runs executions without tasks (the benchmarks): no task is known, so a run keeps the default
/// timeout and is not retried. Tasks registers its own answer over it.</summary>
internal sealed class NoTaskRunRules : ITaskRunRules
{
    public Task<TaskRunRules?> ForTaskAsync(long taskId, CancellationToken ct) => Task.FromResult<TaskRunRules?>(null);
}
