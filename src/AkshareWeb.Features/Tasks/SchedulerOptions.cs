namespace AkshareWeb.Features.Tasks;

/// <summary>Configuration section <c>Scheduler</c>: how tasks are scheduled (in the zone of <c>MarketTime</c>). How their runs are retried and
/// watched is Executions' (<c>ExecutionOptions</c>), which still reads its old keys from this section.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Smallest interval an interval task may have.</summary>
    public int MinIntervalSeconds { get; set; } = 60;
    /// <summary>How often interval tasks are checked for being due (Hangfire cron; six fields allow seconds).</summary>
    public string IntervalTickCron { get; set; } = "* * * * *";
}
