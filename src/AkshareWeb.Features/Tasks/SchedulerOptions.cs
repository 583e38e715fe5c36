namespace AkshareWeb.Features.Tasks;

/// <summary>Configuration section <c>Scheduler</c>: how tasks are scheduled. How their runs are retried and
/// watched is Executions' (<c>ExecutionOptions</c>), which still reads its old keys from this section.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Cron schedules are read in this zone: China's markets keep Beijing time.</summary>
    public string TimeZone { get; set; } = "Asia/Shanghai";
    /// <summary>Smallest interval an interval task may have.</summary>
    public int MinIntervalSeconds { get; set; } = 60;
    /// <summary>How often interval tasks are checked for being due (Hangfire cron; six fields allow seconds).</summary>
    public string IntervalTickCron { get; set; } = "* * * * *";
}
