using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        /// <summary>
        /// The natural key's unique index, built once a new table's first rows are in: one sorted build costs a
        /// fraction of keeping the index up to date row by row through a large first load. Rows that came to
        /// share a key meanwhile (an answer repeating a key in different batches) keep the newest.
        /// Runs under the table's lock, before any batch has to look keys up, and at the end of the run, failed or not.
        /// </summary>
        private async Task EnsureIndexesAsync(CancellationToken ct)
        {
            // A run that brought no rows may not have made a new key column yet: the next run builds the index.
            if (!keyIndex.Pending || target.KeyColumns.Any(k => !shape.Columns.ContainsKey(k))) return;
            if (checkpoint is not null) await checkpoint(new WriteStep(target.Table, target.ExecutionId, WriteStep.KeyIndex));
            var keys = target.KeyColumns.Select(k => ColumnNames.Quote(shape.Columns[k].Sql)).ToList();
            var quoted = ColumnNames.Quote(target.Table);
            if (keyIndex.Rekey)
            {
                await BoundedDdl.ExecuteAsync(connection, target.Table, $"ALTER TABLE {quoted} DROP INDEX {IndexNames.NaturalKey}", ct);
                KeyRebuilt = true;
                keyIndex.Rekey = false;
            }

            for (var attempt = 1; !(await IndexNamesAsync(ct)).Contains(IndexNames.NaturalKey); attempt++)
            {
                try
                {
                    await BoundedDdl.ExecuteAsync(connection, target.Table, $"ALTER TABLE {quoted} ADD UNIQUE KEY {IndexNames.NaturalKey} ({string.Join(", ", keys)})", ct);
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
                    var removed = await connection.ExecuteAsync(new CommandDefinition($"""
                        DELETE t FROM {quoted} t
                        JOIN (SELECT {string.Join(", ", keys)}, MAX(id) AS newest FROM {quoted} GROUP BY {string.Join(", ", keys)} HAVING COUNT(*) > 1) d
                          ON {same} AND t.id < d.newest
                        """, commandTimeout: 0, cancellationToken: ct));
                    // Under a rebuilt key the rows that gave way were stored by earlier runs, not this one.
                    if (KeyRebuilt) EarlierDuplicatesRemoved += removed;
                    else DuplicatesRemoved += removed;
                }
            }

            keyIndex.Pending = false;
        }

        /// <summary>
        /// A table this run creates names the run and its time as the bookkeeping columns' defaults, so its
        /// first loads need not set them row by row (about 5 % of a load's cost); once the run stops loading
        /// straight in, it drops them. Only the run that set them does: another run on the table may still be
        /// loading on them. Dropping a default changes metadata only, but it waits for readers of the table (an
        /// export) — 5 s at most, after which the defaults stay. They are harmless: every other write names its
        /// execution and time itself. Called under the table's lock.
        /// </summary>
        private async Task DropDefaultsAsync()
        {
            if (!path.OwnDefaults) return;
            path.OwnDefaults = false;
            try
            {
                await connection.ExecuteAsync(new CommandDefinition($"""
                    SET SESSION lock_wait_timeout = 5;
                    ALTER TABLE {ColumnNames.Quote(target.Table)} ALTER COLUMN _execution_id DROP DEFAULT, ALTER COLUMN _collected_at DROP DEFAULT;
                    """));
            }
            catch (MySqlException)
            {
            }
            finally
            {
                await connection.ExecuteAsync(new CommandDefinition("SET SESSION lock_wait_timeout = DEFAULT"));
            }
        }
    }
}
