using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>How a run ended, as whoever ran it reads it (the job, a benchmark).</summary>
public sealed record ExecutionOutcome(string Status, long RowsAffected, string? Error);

/// <summary>
/// The end of a run, whichever kind: its record (<see cref="RunEnd"/>), then, off the run's clock, the indexes its
/// readers need and word to them that the table changed; or, for a claimed run that cannot start, its failure.
/// </summary>
public sealed class RunEnding(ExecutionStore store, WarehouseWriter writer, TableChanges changes, TimeProvider time, ILogger<RunEnding> logger)
{
    /// <summary>
    /// How long the end of a single run waits for a database that stopped answering, retrying its record: past this
    /// the record stays 'running' and the watchdog's word is the last one.
    /// </summary>
    public static readonly TimeSpan RecordPatience = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Records the end; false when another participant of a parted run recorded it first. A single run's record is
    /// written whatever happened to the database meanwhile: a database that stopped answering is waited for (retries
    /// with backoff, for <see cref="RecordPatience"/> at most), so the run ends with its own cause and not with the
    /// watchdog's guess. A parted run's end is decided from its parts' counts read just before, so it is tried once
    /// here: its caller repeats the whole finish.
    /// </summary>
    public async Task<bool> RecordAsync(string executionId, RunEnd end)
    {
        if (end.Parts is not null) return await store.EndAsync(executionId, end);
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var recorded = await store.EndAsync(executionId, end);
                if (attempt > 1) logger.LogInformation("Recorded the end of execution {ExecutionId} once the database answered again ({Attempts} attempts)", executionId, attempt);
                return recorded;
            }
            catch (Exception e) when ((Common.Database.IsOutage(e) || e is InvalidOperationException) && time.GetElapsedTime(started) < RecordPatience)
            {
                if (attempt == 1) logger.LogWarning(e, "Recording the end of execution {ExecutionId} failed; retrying until the database answers", executionId);
                await Task.Delay(delay, time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>A claimed run that cannot start (its script broken, its sources unreadable) ends failed at once, with the reason.</summary>
    public async Task<ExecutionOutcome> FailAsync(string executionId, string problem)
    {
        await store.FailAsync(executionId, problem);
        return new ExecutionOutcome(ExecutionStatuses.Failed, 0, problem);
    }

    /// <summary>
    /// Once the end is recorded, when the run wrote rows or created the table or left indexes for later: the indexes
    /// (in the background; a failure is only logged, the next run on the table tries again), then word to the table's
    /// readers that it changed.
    /// </summary>
    /// <param name="wroteIn">The run, when it wrote rows (the health check looks at the rows it wrote).</param>
    public void AfterRecord(string table, IReadOnlyList<ReaderIndex> indexes, string? wroteIn)
    {
        if (indexes.Count > 0 || wroteIn is not null) _ = AfterRunAsync(table, indexes, wroteIn);
    }

    private async Task AfterRunAsync(string table, IReadOnlyList<ReaderIndex> indexes, string? wroteIn)
    {
        await Task.Yield();
        try
        {
            await writer.AddIndexesAsync(table, indexes, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Indexes {Indexes} of {Table} were not built; the next run on the table tries again", string.Join(", ", indexes.Select(i => i.Name)), table);
        }

        changes.NotifyRowsChanged(table, wroteIn);
    }
}
