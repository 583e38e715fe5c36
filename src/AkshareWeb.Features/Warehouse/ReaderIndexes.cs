using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Warehouse;

/// <summary>An index for reading: its name and its one column's SQL name.</summary>
public record ReaderIndex(string Name, string Column);

/// <summary>Indexes a table gets for its readers (not needed to write it), and how they are built.</summary>
public static class ReaderIndexes
{
    /// <summary>
    /// Builds <paramref name="indexes"/> on <paramref name="table"/> under its write lock (<see cref="TableLock"/>),
    /// so no batch of a run looks keys up meanwhile; an index built first by someone else is skipped. The build is
    /// online: readers and exports go on. True when an index was built.
    /// <para>An online build still needs the table to itself for a moment at its start and end, and queries that
    /// arrive meanwhile wait behind it; <paramref name="lockWaitSeconds"/> bounds that wait (behind a long export,
    /// say), after which the build fails rather than hold the readers up.</para>
    /// </summary>
    public static async Task<bool> BuildAsync(WarehouseDatabase warehouse, string table, IReadOnlyList<ReaderIndex> indexes, CancellationToken ct, int? lockWaitSeconds = null)
    {
        if (indexes.Count == 0 || !TableNames.IsWarehouseTable(table)) return false;
        await using var connection = await warehouse.OpenAsync(ct);
        if (!await TableLock.TryTakeAsync(connection, table, ct)) return false;
        try
        {
            var present = await NamesAsync(connection, table, ct);
            var definitions = indexes.Where(i => !present.Contains(i.Name)).Select(i => $"ADD KEY {ColumnNames.Quote(i.Name)} ({ColumnNames.Quote(i.Column)})").ToList();
            if (definitions.Count == 0) return false;
            if (lockWaitSeconds is { } seconds)
            {
                await connection.ExecuteAsync(new CommandDefinition("SET SESSION lock_wait_timeout = @seconds", new { seconds }, cancellationToken: ct));
            }

            await connection.ExecuteAsync(new CommandDefinition($"ALTER TABLE {ColumnNames.Quote(table)} {string.Join(", ", definitions)}", commandTimeout: 0, cancellationToken: ct));
            return true;
        }
        finally
        {
            await TableLock.ReleaseAsync(connection, table);
        }
    }

    /// <summary>The names of the table's indexes.</summary>
    public static async Task<HashSet<string>> NamesAsync(MySqlConnection connection, string table, CancellationToken ct) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
            new { table }, cancellationToken: ct))).ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The indexes readers had built on the table for sorting (<see cref="IndexNames.SortPrefix"/>): a replacement
    /// table gets them again after the run, so the orders people use stay fast across replace runs.
    /// </summary>
    public static async Task<IReadOnlyList<ReaderIndex>> SortIndexesAsync(MySqlConnection connection, string table, CancellationToken ct) =>
        (await connection.QueryAsync<(string Name, string Column)>(new CommandDefinition("""
            SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND SEQ_IN_INDEX = 1
            """, new { table }, cancellationToken: ct)))
            .Where(i => IndexNames.IsSort(i.Name))
            .Select(i => new ReaderIndex(i.Name, i.Column)).ToList();
}
