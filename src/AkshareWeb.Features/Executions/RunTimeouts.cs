using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>A run's limits: <paramref name="PerCall"/> for a single run's call or a parted run's each part;
/// <paramref name="RunMinutes"/>, a parted run's in all (null: none).</summary>
public readonly record struct RunLimits(TimeSpan PerCall, int? RunMinutes);

/// <summary>A run's time limits: its task's when the task sets them, else the defaults of the settings.</summary>
public sealed class RunTimeouts(ITaskRunRules tasks, SystemSettings settings)
{
    /// <summary>Both limits of a run of <paramref name="taskId"/> (none: a download): timeout_seconds or
    /// default_timeout, and max_run_minutes or default_max_run_minutes (0 in either: no overall limit).</summary>
    public async Task<RunLimits> LimitsAsync(long? taskId, ExecutionSettings? current, CancellationToken ct)
    {
        var task = taskId is { } id ? await tasks.ForTaskAsync(id, ct) : null;
        current ??= await settings.GetExecutionSettingsAsync(ct);
        var minutes = task?.MaxRunMinutes ?? current.DefaultMaxRunMinutes;
        return new RunLimits(TimeSpan.FromSeconds(task?.TimeoutSeconds ?? current.DefaultTimeout), minutes > 0 ? minutes : null);
    }

    /// <summary>The limit for a run of <paramref name="taskId"/> (none: a download); <paramref name="current"/> settings
    /// when the caller has them read already.</summary>
    public async Task<TimeSpan> ForAsync(long? taskId, ExecutionSettings? current, CancellationToken ct)
    {
        var task = taskId is { } id ? await tasks.ForTaskAsync(id, ct) : null;
        return TimeSpan.FromSeconds(task?.TimeoutSeconds ?? (current ?? await settings.GetExecutionSettingsAsync(ct)).DefaultTimeout);
    }
}
