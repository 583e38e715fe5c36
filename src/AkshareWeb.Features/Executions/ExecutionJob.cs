using Hangfire;
using Microsoft.Extensions.Logging;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The Hangfire job that runs one execution, whatever started it (schedule, manual, download, retry): asks
/// <see cref="RunAdmission"/> until the run may start (a task's run waits for a slot under max_concurrent_tasks), runs
/// it with the task's or the default timeout, and schedules the retry the task asks for. Hangfire's own retries are
/// off: a retry is a new, visible execution.
/// </summary>
public sealed class ExecutionJob(
    RunAdmission admission, ExecutionRunner runner, ExecutionRetries retries, RunNotices notices, TimeProvider time, ILogger<ExecutionJob> logger,
    Database database, IRunFollowUp followUp)
{
    private readonly TimeSpan patience = database.Patience;

    [AutomaticRetry(Attempts = 0)]
    public Task RunAsync(string executionId, CancellationToken ct) => RunExecutionAsync(executionId, RunLane.Scheduled, ct);

    /// <summary>A user's download, from the ad-hoc queue: its workers limit it, not max_concurrent_tasks' slots,
    /// which stay free for scheduled collection.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task RunAdhocAsync(string executionId, CancellationToken ct) => RunExecutionAsync(executionId, RunLane.Adhoc, ct);

    /// <summary>
    /// A lost database node (or certification) on the way to the run or after it (the admission, the retry the task
    /// asks for) repeats the whole, on new connections (<see cref="Failover"/>): Hangfire's own retries are off, and a
    /// run left pending without its job would never run. The claim lets the run run once however often this is
    /// repeated, and a slot's lock is taken again each time: a lock does not outlive its connection.
    /// </summary>
    private async Task RunExecutionAsync(string executionId, RunLane lane, CancellationToken ct)
    {
        // Every line logged for this run, here, in the runner and in what they call, names the execution.
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["ExecutionId"] = executionId });
        await Failover.RetryAsync(token => RunOnceAsync(executionId, lane, token), patience, ct, logger: logger, what: $"Running execution {executionId}");
    }

    private async Task RunOnceAsync(string executionId, RunLane lane, CancellationToken ct)
    {
        var admitted = await admission.AdmitAsync(executionId, lane, ct);
        while (admitted is Admission.NoRoom)
        {
            // Still pending and holding nothing: it asks again shortly (a cancel meanwhile ends the wait).
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, ct);
            admitted = await admission.AdmitAsync(executionId, lane, ct);
        }

        if (admitted is Admission.Room room)
        {
            await using (room)
            {
                logger.LogInformation("Running execution {ExecutionId} (timeout {Timeout})", executionId, room.Run.Timeout);
                await runner.RunAsync(room.Run, ct);
            }
        }

        // Also for a run gone before it started here: one that ended already is this job repeated after a lost node cut
        // its retry or its notice short. Both are keyed on the run and do nothing for a run that did not fail, so
        // nothing is retried or told twice, and a run cancelled while it waited gets neither. The backfill its task asks
        // for comes after the retry: a run that is retried is followed by its retry, whose own end brings the backfill.
        await retries.RetryIfAskedAsync(executionId, ct);
        await followUp.AfterRunAsync(executionId, ct);
        await notices.RunEndedAsync(executionId, ct);
    }
}
