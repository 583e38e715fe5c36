namespace AkshareWeb.Features.Executions;

/// <summary>
/// What a task asks for after a run of it has ended, beside a retry: the backfill of the run's range when the task says
/// "backfill": true. Called wherever a run's end is seen (its job, a participant of a parted run, the watchdog), perhaps
/// more than once for one run: an answer must do its work once per run. Data answers (it plans backfills over Tables'
/// coverage, which Executions must not use); it must never fail the caller.
/// </summary>
public interface IRunFollowUp
{
    Task AfterRunAsync(string executionId, CancellationToken ct);
}

/// <summary>For a host without tasks or tables (the benchmarks): nothing follows a run.</summary>
internal sealed class NoRunFollowUp : IRunFollowUp
{
    public Task AfterRunAsync(string executionId, CancellationToken ct) => Task.CompletedTask;
}
