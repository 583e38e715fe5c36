namespace AkshareWeb.Features.Executions;

public static class ExecutionStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Timeout = "timeout";
    public static readonly string[] All = [Pending, Running, Completed, Failed, Cancelled, Timeout];
    public static readonly string[] Finished = [Completed, Failed, Cancelled, Timeout];
}
