using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// The confirmed-empty marks a backfill leaves (table table_backfills, the only SQL on it). A backfill's part asks
/// the upstream for exactly one key's missing range; once the run has ended, the days of each completed part's range
/// that still have no row were answered with nothing (a suspended stock, 停牌) and are marked
/// (<see cref="ConfirmedEmptyDays"/>), so coverage stops calling them missing and the next backfill stops asking.
/// A run's end is noticed when its table changes, and before its table's coverage is read or backfilled again (a run
/// whose every answer was empty changes nothing), on whichever instance; a failed part leaves its days missing.
/// </summary>
public sealed class BackfillMarks
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Database database;
    private readonly ExecutionStore executions;
    private readonly PartStore parts;
    private readonly CoverageReader coverage;
    private readonly ConfirmedEmptyDays marks;
    private readonly TimeProvider time;
    private readonly ILogger<BackfillMarks> logger;

    public BackfillMarks(Database database, ExecutionStore executions, PartStore parts, CoverageReader coverage, ConfirmedEmptyDays marks, TableChanges writes, TimeProvider time,
        ILogger<BackfillMarks> logger)
    {
        (this.database, this.executions, this.parts, this.coverage, this.marks, this.time, this.logger) = (database, executions, parts, coverage, marks, time, logger);
        writes.RowsChanged += table => _ = Task.Run(() => SettleQuietlyAsync(table, CancellationToken.None));
    }

    /// <summary>Marks were written for the table: its figures changed though its rows did not.</summary>
    public event Action<string>? Marked;

    /// <summary>What one part asked, as table_backfills keeps it.</summary>
    private sealed record Asked(string Key, DateOnly From, DateOnly To);

    /// <summary>Keeps what the parts of a backfill run ask, in part order, until the run has ended.</summary>
    public async Task RecordAsync(string executionId, string table, IReadOnlyList<BackfillPart> parts, CancellationToken ct)
    {
        var asked = JsonSerializer.Serialize(parts.Select(p => new Asked(p.KeyJson, p.From, p.To)), Json);
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO table_backfills (execution_id, table_name, parts, created_at) VALUES (@executionId, @table, @asked, @now)
            """, new { executionId, table, asked, now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct));
    }

    /// <summary>Writes the marks of the table's backfill runs that have ended since; the runs still going wait.</summary>
    public async Task SettleAsync(string table, CancellationToken ct)
    {
        List<(string ExecutionId, string Parts)> open;
        await using (var connection = await database.OpenAsync(ct))
        {
            open = (await connection.QueryAsync<(string, string)>(new CommandDefinition("""
                SELECT execution_id, CAST(parts AS CHAR) FROM table_backfills WHERE table_name = @table AND marked_at IS NULL ORDER BY created_at
                """, new { table }, cancellationToken: ct))).AsList();
        }

        foreach (var (executionId, parts) in open)
        {
            var status = await executions.StatusAsync(executionId, ct);
            if (status is not null && !ExecutionStatuses.Finished.Contains(status)) continue;
            if (status is not null && await MarkAsync(executionId, table, JsonSerializer.Deserialize<List<Asked>>(parts, Json) ?? [], ct)) Marked?.Invoke(table);
            await using var connection = await database.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE table_backfills SET marked_at = @now WHERE execution_id = @executionId AND marked_at IS NULL",
                new { executionId, now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct));
        }
    }

    /// <summary><see cref="SettleAsync"/> for whoever must not fail for it (a reading of coverage, a run's end): a
    /// failure is logged, and the next reading of the table's coverage settles again.</summary>
    public async Task SettleQuietlyAsync(string table, CancellationToken ct)
    {
        try
        {
            await SettleAsync(table, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Writing the confirmed-empty marks of the backfills of {Table} failed", table);
        }
    }

    /// <summary>Marks the days of each completed part's range that coverage still finds missing for its key; false when
    /// no part completed.</summary>
    private async Task<bool> MarkAsync(string executionId, string table, IReadOnlyList<Asked> asked, CancellationToken ct)
    {
        var completed = new List<Asked>();
        for (var page = 1; ; page++)
        {
            var listed = await parts.ListAsync(executionId, PartStatuses.Completed, new PageRequest(page, PageRequest.MaxPageSize), ct);
            completed.AddRange(listed.Items.Where(p => p.PartNo >= 1 && p.PartNo <= asked.Count).Select(p => asked[p.PartNo - 1]));
            if (page >= listed.TotalPages) break;
        }

        if (completed.Count == 0) return false;
        var reading = await coverage.ReadAsync(table, new CoverageRequest(completed.Min(p => p.From), completed.Max(p => p.To), CoverageReader.Gaps,
            QueryCollection.Empty, new PageRequest(1, int.MaxValue)), ct);
        var shape = reading.Shape;
        var missing = reading.Items.ToDictionary(
            k => CoverageFigures.KeyJson(shape, shape.KeyColumns.Select(c => k.Key[c.OriginalName]).ToArray()), k => k.MissingRanges, StringComparer.Ordinal);
        var days = reading.Calendar.Days;
        foreach (var byKey in completed.GroupBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!missing.TryGetValue(byKey.Key, out var ranges)) continue;
            var empty = ranges
                .SelectMany(r => byKey.Select(p => (From: Later(r[0], p.From), To: Earlier(r[1], p.To))))
                .Where(r => r.From <= r.To)
                .SelectMany(r =>
                {
                    var (first, length) = days.Between(r.From, r.To).GetOffsetAndLength(days.Count);
                    return Enumerable.Range(first, length).Select(i => days[i]);
                })
                .ToList();
            await marks.ConfirmAsync(table, byKey.Key, empty, executionId, ct);
        }

        logger.LogInformation("Backfill {ExecutionId} of {Table}: confirmed-empty marks written for {Parts} completed parts", executionId, table,
            completed.Count);
        return true;
    }

    private static DateOnly Later(DateOnly a, DateOnly b) => a > b ? a : b;

    private static DateOnly Earlier(DateOnly a, DateOnly b) => a < b ? a : b;
}
