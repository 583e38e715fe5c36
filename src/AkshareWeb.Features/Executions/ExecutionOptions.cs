namespace AkshareWeb.Features.Executions;

/// <summary>
/// Configuration section <c>Executions</c>: how runs are retried and how a dead run is noticed. These keys were
/// once read from <c>Scheduler</c>; that section is still read first (<see cref="LegacySection"/>), so an existing
/// configuration keeps working, and a key under <c>Executions</c> wins over the same key under <c>Scheduler</c>.
/// </summary>
public sealed class ExecutionOptions
{
    public const string Section = "Executions";
    public const string LegacySection = "Scheduler";

    /// <summary>First retry delay; each further retry doubles it.</summary>
    public double RetryBaseDelaySeconds { get; set; } = 30;
    /// <summary>A running execution whose heartbeat is older than this is taken for dead (its worker crashed).</summary>
    public double StaleExecutionSeconds { get; set; } = 90;
    /// <summary>
    /// An instance whose watchdog has not beaten execution_instances for this long is taken for dead, and only then
    /// are its runs with a stale heartbeat (another instance's) taken for dead: an instance cut off from the database
    /// alone stops beating both, and is alive. Hangfire's own server timeout is the same 5 minutes.
    /// </summary>
    public double InstanceTimeoutSeconds { get; set; } = 300;
    /// <summary>How often each instance looks for dead executions.</summary>
    public double WatchdogIntervalSeconds { get; set; } = 15;
    /// <summary>Finished executions older than this many days go, with their parts (<see cref="ExecutionPruner"/>);
    /// each task's newest execution stays whatever its age. 0 keeps everything.</summary>
    public double RetentionDays { get; set; } = 90;
    /// <summary>How often each instance prunes.</summary>
    public double PruneIntervalMinutes { get; set; } = 60;
}
