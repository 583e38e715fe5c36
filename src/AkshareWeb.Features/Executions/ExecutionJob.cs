using Hangfire;
using Microsoft.Extensions.Logging;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The Hangfire job that runs one execution, whatever started it (schedule, manual, download, retry): waits
/// for a free slot under max_concurrent_tasks (read live), runs it with the task's or the default timeout,
/// and schedules the retry the task asks for. Hangfire's own retries are off: a retry is a new, visible execution.
/// </summary>
public sealed class ExecutionJob(
    ExecutionStore store, ExecutionSlots slots, SystemSettings settings, ExecutionRunner runner, ExecutionRetries retries,
    TimeProvider time, ILogger<ExecutionJob> logger)
{
    [AutomaticRetry(Attempts = 0)]
    public Task RunAsync(string executionId, CancellationToken ct) => RunExecutionAsync(executionId, useSlot: true, ct);

    /// <summary>A user's download, from the ad-hoc queue: its workers limit it, not max_concurrent_tasks' slots,
    /// which stay free for scheduled collection.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task RunAdhocAsync(string executionId, CancellationToken ct) => RunExecutionAsync(executionId, useSlot: false, ct);

    private async Task RunExecutionAsync(string executionId, bool useSlot, CancellationToken ct)
    {
        // Every line logged for this run, here, in the runner and in what they call, names the execution.
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["ExecutionId"] = executionId });
        ExecutionSlots.Slot? slot = null;
        ExecutionSettings current = await settings.GetExecutionSettingsAsync(ct);
        while (useSlot)
        {
            current = await settings.GetExecutionSettingsAsync(ct);
            slot = await slots.TryAcquireAsync(current.MaxConcurrentTasks, ct);
            if (slot is not null) break;

            // Waiting: stop if the run was cancelled meanwhile (or another worker took it).
            if (await store.StatusAsync(executionId, ct) != ExecutionStatuses.Pending) return;

            await Task.Delay(TimeSpan.FromMilliseconds(250), time, ct);
        }

        await using (slot)
        {
            var timeout = TimeSpan.FromSeconds(await store.TaskTimeoutAsync(executionId, ct) ?? current.DefaultTimeout);
            logger.LogInformation("Running execution {ExecutionId} (timeout {Timeout})", executionId, timeout);
            await runner.RunAsync(executionId, timeout, ct);
        }

        await retries.RetryIfAskedAsync(executionId, ct);
    }
}
