using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// The end of a write: the natural key's index built and the bookkeeping defaults dropped in any case; in replace
/// mode the new table swapped in atomically (unless the table's <see cref="IReplacementCheck"/> refuses the answer),
/// carrying the sort indexes readers had built on the old one; and the indexes readers need that the table lacks,
/// left to be built after the run is recorded.
/// </summary>
internal sealed class WriteEnd(
    WriteConnection db, FilledTable table, TableShape shape, NaturalKeyIndex keys, BookkeepingDefaults defaults, IReplacementCheck? replacementCheck)
{
    /// <summary>Indexes for reading the table that it lacks once the run has ended (see <see cref="WarehouseWriter.AddIndexesAsync"/>).</summary>
    public IReadOnlyList<ReaderIndex> BrowsingIndexes { get; private set; } = [];

    /// <summary>Replace mode: swaps the new table in (or fails with the check's refusal). The others: nothing to do
    /// but the key's index. The destination's rows once done.</summary>
    public async Task<long> FinishAsync(CancellationToken ct)
    {
        if (replacementCheck is not null && await replacementCheck.RefusalAsync(db.Connection, shape.Exists ? table.Name : null, ct) is { } refusal)
        {
            throw new InvalidOperationException(refusal);
        }

        await db.LockAsync(ct);
        try
        {
            await keys.EnsureAsync(ct);
            await defaults.DropAsync();
        }
        finally
        {
            await db.UnlockAsync();
        }

        IReadOnlyList<ReaderIndex> carried = [];
        // (A replacement no longer there was swapped in by an attempt whose answer was lost.)
        if (table.Replaces && shape.Exists && await db.ExistsAsync(table.Name, ct))
        {
            // The swap changes the target itself: under its lock, as readers' index builds on it are.
            await db.LockAsync(ct, table.Destination.Table);
            try
            {
                carried = await SwapInAsync(ct);
            }
            finally
            {
                await db.UnlockAsync(table.Destination.Table);
            }
        }

        if (!await db.ExistsAsync(table.Destination.Table, ct)) return 0;
        BrowsingIndexes = [.. await MissingBrowsingIndexesAsync(ct), .. await StillApplicableAsync(carried, ct)];
        return await db.CountAsync(table.Destination.Table, ct);
    }

    /// <summary>Replace mode: the fresh table takes the target's name at once; the sort indexes the old one had
    /// are returned, to be built on the new one.</summary>
    private async Task<IReadOnlyList<ReaderIndex>> SwapInAsync(CancellationToken ct)
    {
        var quoted = ColumnNames.Quote(table.Destination.Table);
        if (!await db.ExistsAsync(table.Destination.Table, ct))
        {
            await BoundedDdl.ExecuteAsync(db.Connection, table.Destination.Table, $"RENAME TABLE {table.Quoted} TO {quoted}", ct);
            return [];
        }

        // The indexes readers had built for sorting go over to the replacement.
        var carried = await ReaderIndexes.SortIndexesAsync(db.Connection, table.Destination.Table, ct);
        var old = ColumnNames.Quote(table.Name[..Math.Min(table.Name.Length, 55)] + "_old");
        await db.Connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {old}", cancellationToken: ct));
        // Readers of the table (a long export) hold it open: the swap waits a few seconds at a time, letting them through.
        await BoundedDdl.ExecuteAsync(db.Connection, table.Destination.Table, $"RENAME TABLE {quoted} TO {old}, {table.Quoted} TO {quoted}", ct);
        await db.Connection.ExecuteAsync(new CommandDefinition($"DROP TABLE {old}", cancellationToken: ct));
        return carried;
    }

    /// <summary>
    /// After a failure, under the table's lock. Replace mode: the half-filled new table goes; the old one was never
    /// touched. The others: the rows written before the failure stay, and so must the index that keeps their keys
    /// unique; when the database is what failed, that is left to the next run on the table, which finds it missing.
    /// </summary>
    public async Task AbandonAsync()
    {
        try
        {
            await db.LockAsync(CancellationToken.None);
            try
            {
                if (table.Replaces)
                {
                    await db.Connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {table.Quoted}"));
                    return;
                }

                await keys.EnsureAsync(CancellationToken.None);
                await defaults.DropAsync();
            }
            finally
            {
                await db.UnlockAsync();
            }

            if (await db.ExistsAsync(table.Name, CancellationToken.None)) BrowsingIndexes = await MissingBrowsingIndexesAsync(CancellationToken.None);
        }
        catch (Exception e) when (!table.Replaces && e is MySqlException or IOException or System.Net.Sockets.SocketException)
        {
            // The next run on this table sees the index missing and builds it.
        }
    }

    /// <summary>The destination's rows as they are; 0 when it does not exist.</summary>
    public async Task<long> CountAsync() =>
        await db.ExistsAsync(table.Destination.Table, CancellationToken.None) ? await db.CountAsync(table.Destination.Table, CancellationToken.None) : 0;

    /// <summary>
    /// An index on each later date column of the natural key (one day across all symbols; sorting by date),
    /// missing from the table as the run leaves it. Reads need them, writes do not: whoever ran the write has
    /// them built once the run is recorded.
    /// </summary>
    private async Task<IReadOnlyList<ReaderIndex>> MissingBrowsingIndexesAsync(CancellationToken ct)
    {
        if (!shape.NaturalKey) return [];
        var names = await db.IndexNamesAsync(ct);
        var missing = new List<ReaderIndex>();
        for (var i = 1; i < table.KeyColumns.Count; i++)
        {
            if (shape.Columns.TryGetValue(table.KeyColumns[i], out var column) && column.Type.Kind is ColumnKind.Date or ColumnKind.DateTime && !names.Contains(IndexNames.KeyColumn(i)))
            {
                missing.Add(new ReaderIndex(IndexNames.KeyColumn(i), column.Sql));
            }
        }

        return missing;
    }

    /// <summary>Those of <paramref name="indexes"/> whose column the table as the run left it still has.</summary>
    private async Task<IReadOnlyList<ReaderIndex>> StillApplicableAsync(IReadOnlyList<ReaderIndex> indexes, CancellationToken ct)
    {
        if (indexes.Count == 0) return [];
        var present = (await db.Connection.QueryAsync<string>(new CommandDefinition(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
            new { table = table.Destination.Table }, cancellationToken: ct))).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return indexes.Where(i => present.Contains(i.Column)).ToList();
    }
}
