using System.Text.Json;
using System.Text.Json.Serialization;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// An execution's <c>result</c>: what the run did, as the API shows it (snake_case; a field the run has nothing to say
/// about is left out). A single run tells its rows inserted, updated and unchanged and what it did to the table's shape;
/// a parted run its parts and the site family it called under its rate; a parted run still going its live rate.
/// </summary>
public sealed record RunResult(
    string? Message,
    string? TableName = null,
    long? RowsFetched = null,
    long? RowsInserted = null,
    long? RowsUpdated = null,
    long? RowsUnchanged = null,
    long? RowsWritten = null,
    int? ColumnsAdded = null,
    int? ColumnsWidened = null,
    IReadOnlyList<string>? KeyRebuilt = null,
    long? EarlierDuplicatesRemoved = null,
    string? SourceFamily = null,
    string? SitePaused = null,
    double? RateLimit = null,
    double? RateAllowed = null,
    double? EffectiveRate = null,
    long? PartsTotal = null,
    long? PartsDone = null,
    long? PartsFailed = null,
    long? PartsWaiting = null,
    long? PartsRunning = null)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A single run's rows: unchanged are those written that neither inserted nor changed a row.</summary>
    public static RunResult OfSingleRun(string? message, string table, long fetched, long inserted, long updated, long written) =>
        new(message, table, fetched, inserted, updated, RowsUnchanged: Math.Max(0, written - inserted - updated));

    /// <summary>A parted run's end, from its parts' counts; <paramref name="sitePaused"/>: the last pause of its site
    /// family seen while it ran.</summary>
    public static RunResult OfPartedRun(string message, string table, string family, double rate, string? sitePaused, PartCounts counts) =>
        new(message, table, counts.Fetched, RowsWritten: counts.Written, SourceFamily: family, SitePaused: sitePaused, RateLimit: rate,
            PartsTotal: counts.Total, PartsDone: counts.Done, PartsFailed: counts.Failed);

    /// <summary>A parted run while it runs: how far its parts are, the rate its calls go at (over the last 10 s) and may go
    /// at (<paramref name="rateAllowed"/>, lower while its site family resumes after a pause), and the pause its parts wait
    /// out now, if any.</summary>
    public static RunResult Live(string family, double rate, double rateAllowed, string? paused, PartCounts counts)
    {
        var done = $"{counts.Done + counts.Failed} of {counts.Total} parts done";
        return new(paused is null ? done : $"{done}; waiting: {paused}", SourceFamily: family, SitePaused: paused, RateLimit: rate, RateAllowed: rateAllowed,
            EffectiveRate: Math.Round(counts.Recent / 10.0, 2), PartsWaiting: counts.Pending, PartsRunning: counts.Running);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

/// <summary>
/// A run's recorded end (<see cref="ExecutionStore.EndAsync"/>), written once whatever happened. A single run gives its
/// own time and its rows before; a parted run its parts' counts (<see cref="Parts"/>), its time running from its start,
/// and its rows before were recorded when it started.
/// </summary>
/// <param name="Affected">Rows inserted or changed (a parted run: rows its parts wrote).</param>
public sealed record RunEnd(
    string Status, string? Error, RunResult Result, DateTime End, int Progress, long Fetched, long Affected, long Inserted, long Updated, long RowsAfter)
{
    public long? RowsBefore { get; init; }

    /// <summary>The run's own measure of its time; null: from its recorded start to its end.</summary>
    public double? Seconds { get; init; }

    /// <summary>A parted run's parts. Several participants may get to its end: it is recorded once, by the first (the
    /// status change from running is the lock).</summary>
    public PartCounts? Parts { get; init; }
}
