using System.Text.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// An execution as the API shows it. A parted run also shows, read from the database when asked (so whichever
/// instances run its parts): <c>parts_running</c>, <c>parts_waiting</c> (pending, not started yet) and
/// <c>calls_per_second</c>, its AKTools calls, tries included, of the last 60 seconds divided by 60. All three are
/// null for a run without parts. <c>parameters</c> are the run's values with each sourced one as it was given (a list,
/// a table's column, since_last); <c>part_values</c>, for a run with sources, is where each part's own values are,
/// a since_last date as it resolved.
/// </summary>
public sealed record ExecutionView(
    string ExecutionId, long? TaskId, string? ScriptId, string InterfaceName, string TargetTable, string Status, string TriggeredBy,
    JsonElement? Parameters, DateTime CreatedAt, DateTime? StartTime, DateTime? EndTime, double? ExecutionTime, int Progress,
    long? RowsFetched, long? RowsBefore, long? RowsAfter, long? RowsAffected, long? RowsInserted, long? RowsUpdated,
    JsonElement? Result, string? ErrorMessage, int RetryCount, string? RetryOf, int? PartsTotal, int? PartsDone, int? PartsFailed,
    int? PartsRunning, int? PartsWaiting, double? CallsPerSecond, string? PartValues);

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
        long? PartsRunning, long? PartsWaiting, long? CallsLastMinute, string? Sources)
    {
        public ExecutionView ToView() => new(ExecutionId, TaskId, ScriptId, InterfaceName, TargetTable, Status, TriggeredBy,
            Given(Parameters, Sources), CreatedAt, StartTime, EndTime, ExecutionTime, Progress, RowsFetched, RowsBefore, RowsAfter,
            RowsAffected, RowsInserted, RowsUpdated, Json(Result), ErrorMessage, RetryCount, RetryOf, PartsTotal, PartsDone, PartsFailed,
            (int?)PartsRunning, (int?)PartsWaiting, CallsLastMinute is { } calls ? Math.Round(calls / (double)RateWindowSeconds, 2) : null,
            Sources is null ? null : $"/api/executions/{ExecutionId}/parts");

        /// <summary>The values with each source as the request gave it; what the plan fixed besides (the date's format,
        /// the key columns matched) is the engine's, not the caller's.</summary>
        private static JsonElement? Given(string? parameters, string? sources)
        {
            if (sources is null) return Json(parameters);
            var given = (parameters is null ? null : JsonNode.Parse(parameters) as JsonObject) ?? [];
            foreach (var (name, source) in ValueSource.Deserialize(sources))
            {
                var shown = new JsonObject();
                if (source.Values is { } values) shown["values"] = new JsonArray([.. values.Select(v => JsonValue.Create(v))]);
                if (source.FromTable is { } table)
                {
                    shown["from_table"] = table;
                    shown["column"] = source.Column;
                    if (source.Filter is { Count: > 0 } filter) shown["filter"] = JsonSerializer.SerializeToNode(filter);
                }

                // A backfill's parts are listed as parts (part_values), not again here.
                if (source.Parts is { } parts) shown["parts"] = parts.Count;
                if (source.SinceLast is { } column)
                {
                    shown["since_last"] = column;
                    shown["overlap_days"] = source.OverlapDays;
                }

                given[name] = shown;
            }

            return JsonSerializer.SerializeToElement(given);
        }

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
