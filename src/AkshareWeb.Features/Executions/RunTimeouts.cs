using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>A run's time limit (a parted run's applies to each part): its task's when the task sets one, else the
/// default of the settings.</summary>
public sealed class RunTimeouts(ITaskRunRules tasks, SystemSettings settings)
{
    /// <summary>The limit for a run of <paramref name="taskId"/> (none: a download); <paramref name="current"/> settings
    /// when the caller has them read already.</summary>
    public async Task<TimeSpan> ForAsync(long? taskId, ExecutionSettings? current, CancellationToken ct)
    {
        var task = taskId is { } id ? await tasks.ForTaskAsync(id, ct) : null;
        return TimeSpan.FromSeconds(task?.TimeoutSeconds ?? (current ?? await settings.GetExecutionSettingsAsync(ct)).DefaultTimeout);
    }
}
