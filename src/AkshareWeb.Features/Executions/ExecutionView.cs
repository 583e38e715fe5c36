using System.Text.Json;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// An execution as the API shows it. A parted run also shows, read from the database when asked (so whichever
/// instances run its parts): <c>parts_running</c>, <c>parts_waiting</c> (pending, not started yet) and
/// <c>calls_per_second</c>, its AKTools calls, tries included, of the last 60 seconds divided by 60. All three are
/// null for a run without parts. <c>parameters</c> are the run's values with each sourced one as it was given (a list,
/// a table's column, since_last); <c>part_values</c>, for a run with sources, is where each part's own values are,
/// a since_last date as it resolved. <c>backfill_of</c>: for a backfill run (triggered_by backfill, or a retry of one),
/// the task's run whose range it fills.
/// </summary>
public sealed record ExecutionView(
    string ExecutionId, long? TaskId, string? ScriptId, string InterfaceName, string TargetTable, string Status, string TriggeredBy,
    JsonElement? Parameters, DateTime CreatedAt, DateTime? StartTime, DateTime? EndTime, double? ExecutionTime, int Progress,
    long? RowsFetched, long? RowsBefore, long? RowsAfter, long? RowsAffected, long? RowsInserted, long? RowsUpdated,
    JsonElement? Result, string? ErrorMessage, int RetryCount, string? RetryOf, string? BackfillOf, int? PartsTotal, int? PartsDone, int? PartsFailed,
    int? PartsRunning, int? PartsWaiting, double? CallsPerSecond, string? PartValues);
