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
    ExecutionStore store, ITaskRunRules tasks, ExecutionSlots slots, SystemSettings settings, ExecutionRunner runner, ExecutionRetries retries,
    RunNotices notices, TimeProvider time, ILogger<ExecutionJob> logger, Database database)
{
    private readonly TimeSpan patience = database.Patience;

    /// <summary>After a pause: false when the run was cancelled meanwhile (or another worker took it).</summary>
    private async Task<bool> StillWaitingAsync(string executionId, CancellationToken ct)
    {
        if (await store.StatusAsync(executionId, ct) != ExecutionStatuses.Pending) return false;
        await Task.Delay(TimeSpan.FromMilliseconds(250), time, ct);
        return true;
    }

    [AutomaticRetry(Attempts = 0)]
    public Task RunAsync(string executionId, CancellationToken ct) => RunExecutionAsync(executionId, useSlot: true, ct);

    /// <summary>A user's download, from the ad-hoc queue: its workers limit it, not max_concurrent_tasks' slots,
    /// which stay free for scheduled collection.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task RunAdhocAsync(string executionId, CancellationToken ct) => RunExecutionAsync(executionId, useSlot: false, ct);

    /// <summary>
    /// A lost database node (or certification) on the way to the run or after it (the slot, the claim, the retry the
    /// task asks for) repeats the whole, on new connections (<see cref="Failover"/>): Hangfire's own retries are off,
    /// and a run left pending without its job would never run. The claim lets the run run once however often this
    /// is repeated, and a slot's lock is taken again each time: a lock does not outlive its connection.
    /// </summary>
    private async Task RunExecutionAsync(string executionId, bool useSlot, CancellationToken ct)
    {
        // Every line logged for this run, here, in the runner and in what they call, names the execution.
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["ExecutionId"] = executionId });
        await Failover.RetryAsync(token => RunOnceAsync(executionId, useSlot, token), patience, ct, logger: logger, what: $"Running execution {executionId}");
    }

    private async Task RunOnceAsync(string executionId, bool useSlot, CancellationToken ct)
    {
        while (true)
        {
            ExecutionSlots.Slot? slot = null;
            // Read again after each wait: a raised max_concurrent_tasks lets a waiting run in at once.
            var current = await settings.GetExecutionSettingsAsync(ct);
            while (useSlot)
            {
                slot = await slots.TryAcquireAsync(current.MaxConcurrentTasks, ct);
                if (slot is not null) break;
                if (!await StillWaitingAsync(executionId, ct)) return;
                current = await settings.GetExecutionSettingsAsync(ct);
            }

            await using (slot)
            {
                var task = await store.TaskIdAsync(executionId, ct) is { } taskId ? await tasks.ForTaskAsync(taskId, ct) : null;
                var timeout = TimeSpan.FromSeconds(task?.TimeoutSeconds ?? current.DefaultTimeout);
                logger.LogInformation("Running execution {ExecutionId} (timeout {Timeout})", executionId, timeout);
                var outcome = await runner.RunAsync(executionId, timeout, ct, useSlot ? current.MaxConcurrentTasks : null);
                if (!ReferenceEquals(outcome, ExecutionRunner.NoRoom)) break;
            }

            // A slot's lock was free but the limit's runs are still recorded as running (one lost its lock with
            // its connection): the slot goes back and the run waits like any other.
            if (!await StillWaitingAsync(executionId, ct)) return;
        }

        await retries.RetryIfAskedAsync(executionId, ct);
        await notices.RunEndedAsync(executionId, ct);
    }
}
