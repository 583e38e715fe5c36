using Hangfire;
using Hangfire.Common;
using Hangfire.States;

namespace AkshareWeb.Features.Executions;

/// <summary>The Hangfire queues runs wait in: scheduled collection, and users' ad-hoc downloads apart from it.</summary>
public static class ExecutionQueues
{
    public const string Scheduled = "default";
    public const string Adhoc = "adhoc";
}

/// <summary>Starts a pending execution as a Hangfire job, so it survives a restart and any instance may run it.</summary>
public sealed class ExecutionDispatcher(IBackgroundJobClient jobs)
{
    /// <summary>A task's run (scheduled or started by hand): the scheduled queue, under max_concurrent_tasks.</summary>
    public void Dispatch(string executionId) => jobs.Enqueue<ExecutionJob>(j => j.RunAsync(executionId, CancellationToken.None));

    /// <summary>A user's download: the ad-hoc queue, whose workers are the only limit besides the user's quota,
    /// so it neither waits for nor takes a slot of scheduled collection.</summary>
    public void DispatchAdhoc(string executionId) =>
        jobs.Create(Job.FromExpression<ExecutionJob>(j => j.RunAdhocAsync(executionId, CancellationToken.None)), new EnqueuedState(ExecutionQueues.Adhoc));
}
