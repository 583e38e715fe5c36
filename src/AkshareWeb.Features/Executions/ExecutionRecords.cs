using System.Text.Json;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// An execution as the API shows it. A parted run also shows, read from the database when asked (so whichever
/// instances run its parts): <c>parts_running</c>, <c>parts_waiting</c> (pending, not started yet) and
/// <c>calls_per_second</c>, its AKTools calls, tries included, of the last 60 seconds divided by 60. All three are
/// null for a run without parts.
/// </summary>
public sealed record ExecutionView(
    string ExecutionId, long? TaskId, string? ScriptId, string InterfaceName, string TargetTable, string Status, string TriggeredBy,
    JsonElement? Parameters, DateTime CreatedAt, DateTime? StartTime, DateTime? EndTime, double? ExecutionTime, int Progress,
    long? RowsFetched, long? RowsBefore, long? RowsAfter, long? RowsAffected, long? RowsInserted, long? RowsUpdated,
    JsonElement? Result, string? ErrorMessage, int RetryCount, string? RetryOf, int? PartsTotal, int? PartsDone, int? PartsFailed,
    int? PartsRunning, int? PartsWaiting, double? CallsPerSecond);

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

/// <summary>An execution row as Dapper reads it (<see cref="ExecutionStore"/>); JSON columns arrive as text.</summary>
public static class ExecutionRecords
{
    /// <summary>The row as Dapper reads it; JSON columns arrive as text.</summary>
    public sealed record Row(
        string ExecutionId, long? TaskId, string? ScriptId, string InterfaceName, string TargetTable, string Status, string TriggeredBy,
        string? Parameters, DateTime CreatedAt, DateTime? StartTime, DateTime? EndTime, double? ExecutionTime, int Progress,
        long? RowsFetched, long? RowsBefore, long? RowsAfter, long? RowsAffected, long? RowsInserted, long? RowsUpdated,
        string? Result, string? ErrorMessage, int RetryCount, string? RetryOf, long? UserId, int? PartsTotal, int? PartsDone, int? PartsFailed,
        long? PartsRunning, long? PartsWaiting, long? CallsLastMinute)
    {
        public ExecutionView ToView() => new(ExecutionId, TaskId, ScriptId, InterfaceName, TargetTable, Status, TriggeredBy,
            Json(Parameters), CreatedAt, StartTime, EndTime, ExecutionTime, Progress, RowsFetched, RowsBefore, RowsAfter,
            RowsAffected, RowsInserted, RowsUpdated, Json(Result), ErrorMessage, RetryCount, RetryOf, PartsTotal, PartsDone, PartsFailed,
            (int?)PartsRunning, (int?)PartsWaiting, CallsLastMinute is { } calls ? Math.Round(calls / (double)RateWindowSeconds, 2) : null);

        /// <summary>The window of calls_per_second, in seconds.</summary>
        public const int RateWindowSeconds = 60;

        private static JsonElement? Json(string? text)
        {
            if (text is null) return null;
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
    }
}
