using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// The upsert's unique index on the script's key columns (<see cref="IndexNames.NaturalKey"/>): built once a new
/// table's first rows are in (one sorted build costs a fraction of keeping the index up to date row by row through a
/// large first load), rebuilt when the script's key changed, and put in place of <c>_row_key</c> when a table written
/// in append mode is upserted on a key from now on.
/// </summary>
internal sealed class NaturalKeyIndex(WriteConnection db, FilledTable table, TableShape shape)
{
    /// <summary>The index is still to be (re)built (see <see cref="EnsureAsync"/>).</summary>
    private bool pending;

    /// <summary>The index there is on another key than the script's: dropped before it is built again.</summary>
    private bool rekey;

    /// <summary>The table's unique index was on another key than the script's (or on whole rows), and was rebuilt on the script's.</summary>
    public bool Rebuilt { get; private set; }

    /// <summary>Rows of this run dropped when the index was built because a newer row had the same key.</summary>
    public long DuplicatesRemoved { get; private set; }

    /// <summary>Rows of earlier runs that the rebuilt key found to be one row: the newest of each stayed.</summary>
    public long EarlierDuplicatesRemoved { get; private set; }

    /// <summary>What the table as just read (<see cref="TableShape.ReadAsync"/>) needs of the index. Called under the table's lock.</summary>
    public async Task InspectAsync(TableFacts facts, CancellationToken ct)
    {
        if (facts.HasRowKey && table.Destination.WriteMode == WriteModes.Upsert && shape.KeyIsIndexable() && table.Name == table.Destination.Table)
        {
            // Written before in append mode, whose _row_key hashes the whole row, and now upserted on a key (a
            // script whose rows changed meaning on later days): the rows there get the key as the table's unique
            // index, keeping the newest of those that share it, so the upsert finds them instead of adding them again.
            await db.LockAsync(ct);
            try
            {
                await BoundedDdl.ExecuteAsync(db.Connection, table.Name, $"ALTER TABLE {table.Quoted} DROP INDEX ux_row_key, DROP COLUMN _row_key", ct);
            }
            finally
            {
                await db.UnlockAsync();
            }

            shape.NaturalKey = true;
            Rebuilt = true;
        }

        // New, or its first run ended before the index was built: build it at the end of this one.
        pending = shape.NaturalKey && !(await db.IndexNamesAsync(ct)).Contains(IndexNames.NaturalKey);
        if (shape.NaturalKey && !pending)
        {
            // The script's key changed (period added to it, say): the old index would let a row overwrite one
            // that means something else, so it is rebuilt on the new key before anything is looked up.
            var indexed = (await db.Connection.QueryAsync<string>(new CommandDefinition("""
                SELECT COLUMN_NAME FROM information_schema.STATISTICS
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND INDEX_NAME = 'ux_natural_key' ORDER BY SEQ_IN_INDEX
                """, new { table = table.Name }, cancellationToken: ct))).ToList();
            var wanted = table.KeyColumns.Select(k => shape.Columns.TryGetValue(k, out var c) ? c.Sql : null).ToList();
            if (!indexed.SequenceEqual(wanted, StringComparer.OrdinalIgnoreCase))
            {
                rekey = true;
                pending = true;
            }
        }
    }

    /// <summary>
    /// Builds the index when it is pending. Rows that came to share a key meanwhile (an answer repeating a key in
    /// different batches) keep the newest. Runs under the table's lock, before any batch has to look keys up, and at
    /// the end of the run, failed or not.
    /// </summary>
    public async Task EnsureAsync(CancellationToken ct)
    {
        // A run that brought no rows may not have made a new key column yet: the next run builds the index.
        if (!pending || table.KeyColumns.Any(k => !shape.Columns.ContainsKey(k))) return;
        await db.CheckpointAsync(WriteStep.KeyIndex);
        var keys = table.KeyColumns.Select(k => ColumnNames.Quote(shape.Columns[k].Sql)).ToList();
        if (rekey)
        {
            await BoundedDdl.ExecuteAsync(db.Connection, table.Name, $"ALTER TABLE {table.Quoted} DROP INDEX {IndexNames.NaturalKey}", ct);
            Rebuilt = true;
            rekey = false;
        }

        for (var attempt = 1; !(await db.IndexNamesAsync(ct)).Contains(IndexNames.NaturalKey); attempt++)
        {
            try
            {
                await BoundedDdl.ExecuteAsync(db.Connection, table.Name, $"ALTER TABLE {table.Quoted} ADD UNIQUE KEY {IndexNames.NaturalKey} ({string.Join(", ", keys)})", ct);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyName && attempt <= 3)
            {
                // The index exists although the look above missed it: a change of the table made meanwhile outside
                // the writers' lock (by hand), which can hide the table from information_schema for a moment. Its
                // existence is what the loop wants: look again.
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && attempt <= 3)
            {
                var same = string.Join(" AND ", keys.Select(k => $"t.{k} <=> d.{k}"));
                var removed = await db.Connection.ExecuteAsync(new CommandDefinition($"""
                    DELETE t FROM {table.Quoted} t
                    JOIN (SELECT {string.Join(", ", keys)}, MAX(id) AS newest FROM {table.Quoted} GROUP BY {string.Join(", ", keys)} HAVING COUNT(*) > 1) d
                      ON {same} AND t.id < d.newest
                    """, commandTimeout: 0, cancellationToken: ct));
                // Under a rebuilt key the rows that gave way were stored by earlier runs, not this one.
                if (Rebuilt) EarlierDuplicatesRemoved += removed;
                else DuplicatesRemoved += removed;
            }
        }

        pending = false;
    }
}
