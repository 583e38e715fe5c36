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
    /// <para>On a Galera cluster the ALTER runs in total order on every node, and a lost node or a conflict with it
    /// repeats the build whole on a new connection (<see cref="Failover"/>), lock included: an index an attempt
    /// whose answer was lost did build is then found there.</para>
    /// </summary>
    public static async Task<bool> BuildAsync(WarehouseDatabase warehouse, string table, IReadOnlyList<ReaderIndex> indexes, CancellationToken ct, int? lockWaitSeconds = null)
    {
        if (indexes.Count == 0 || !TableNames.IsWarehouseTable(table)) return false;
        var altered = false;
        return await Failover.RetryAsync(async token =>
        {
            await using var connection = await warehouse.OpenAsync(token);
            if (!await TableLock.TryTakeAsync(connection, table, token)) return false;
            try
            {
                var present = await NamesAsync(connection, table, token);
                var definitions = indexes.Where(i => !present.Contains(i.Name)).Select(i => $"ADD KEY {ColumnNames.Quote(i.Name)} ({ColumnNames.Quote(i.Column)})").ToList();
                if (definitions.Count == 0) return altered;
                if (lockWaitSeconds is { } seconds)
                {
                    await connection.ExecuteAsync(new CommandDefinition("SET SESSION lock_wait_timeout = @seconds", new { seconds }, cancellationToken: token));
                }

                altered = true;
                await connection.ExecuteAsync(new CommandDefinition($"ALTER TABLE {ColumnNames.Quote(table)} {string.Join(", ", definitions)}", commandTimeout: 0, cancellationToken: token));
                return true;
            }
            finally
            {
                await ReleaseQuietlyAsync(connection, table);
            }
        }, warehouse.Patience, ct);
    }

    private static async Task ReleaseQuietlyAsync(MySqlConnection connection, string table)
    {
        try
        {
            await TableLock.ReleaseAsync(connection, table);
        }
        catch (Exception e) when (Failover.IsUnavailable(e))
        {
            // The session is gone, and its lock with it.
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
