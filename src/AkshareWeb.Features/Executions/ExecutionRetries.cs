using Hangfire;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Retries: a new execution linked to the one it repeats (retry_of, retry_count + 1), with the same snapshot of
/// what to run. Automatic ones follow the task (retry_on_failure, max_retries, capped by the global settings)
/// with exponential backoff; their schedule key makes a second retry of the same failure impossible.
/// </summary>
public sealed class ExecutionRetries(
    ExecutionRecovery recovery, ITaskRunRules tasks, SystemSettings settings, IBackgroundJobClient jobs, ExecutionDispatcher dispatcher, IOptions<ExecutionOptions> options)
{
    /// <summary>After a run ended: schedules the retry its task asks for, if any.</summary>
    public async Task RetryIfAskedAsync(string executionId, CancellationToken ct)
    {
        if (await recovery.RetryStateAsync(executionId, ct) is not { TaskId: { } taskId } run) return;
        if (run.Status is not (ExecutionStatuses.Failed or ExecutionStatuses.Timeout) || await tasks.ForTaskAsync(taskId, ct) is not { RetryOnFailure: true } rules)
        {
            return;
        }

        var global = await settings.GetExecutionSettingsAsync(ct);
        if (!global.RetryEnabled || run.RetryCount >= Math.Min(rules.MaxRetries, global.MaxRetries))
        {
            return;
        }

        var newId = await recovery.CopyForRetryAsync(executionId, null, $"retry-of:{executionId}", ct);
        if (newId is null) return;
        // Hangfire keeps a scheduled job's time in whole seconds, cut down, and so may start it up to a second early:
        // the second more makes the backoff at least what it says.
        var delay = TimeSpan.FromSeconds(options.Value.RetryBaseDelaySeconds * Math.Pow(2, run.RetryCount) + 1);
        jobs.Schedule<ExecutionJob>(j => j.RunAsync(newId, CancellationToken.None), delay);
    }

    /// <summary>A retry asked for by a user: any finished run, at once; a download's on the ad-hoc queue.</summary>
    public async Task<string> RetryNowAsync(string executionId, long userId, bool adhoc, CancellationToken ct)
    {
        var newId = await recovery.CopyForRetryAsync(executionId, userId, null, ct) ?? throw ApiError.NotFound("execution");
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
}
