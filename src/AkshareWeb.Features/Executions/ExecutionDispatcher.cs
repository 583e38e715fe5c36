using Hangfire;

namespace AkshareWeb.Features.Executions;

/// <summary>Starts a pending execution as a Hangfire job, so it survives a restart and any instance may run it.</summary>
public sealed class ExecutionDispatcher(IBackgroundJobClient jobs)
{
    public void Dispatch(string executionId) => jobs.Enqueue<ExecutionJob>(j => j.RunAsync(executionId, CancellationToken.None));
}
