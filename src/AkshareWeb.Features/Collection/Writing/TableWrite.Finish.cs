using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        /// <summary>Replace mode: swaps the new table in atomically (unless the table's <see cref="IReplacementCheck"/>
        /// refuses the answer: the run then fails with its reason). The others: nothing to do. Done again, whole,
        /// after a lost connection or certification (<see cref="RepeatableAsync"/>).</summary>
        public Task<long> FinishAsync(CancellationToken ct) => RepeatableAsync(FinishOnceAsync, ct);

        private async Task<long> FinishOnceAsync(CancellationToken ct)
        {
            if (replacementCheck is not null && await replacementCheck.RefusalAsync(connection, shape.Exists ? target.Table : null, ct) is { } refusal)
            {
                throw new InvalidOperationException(refusal);
            }

            await LockAsync(ct);
            try
            {
                await EnsureIndexesAsync(ct);
                await DropDefaultsAsync();
            }
            finally
            {
                await UnlockAsync();
            }

            IReadOnlyList<BrowsingIndex> carried = [];
            // (A replacement no longer there was swapped in by an attempt whose answer was lost.)
            if (target.Destination.WriteMode == WriteModes.Replace && shape.Exists && await TableExistsAsync(target.Table, ct))
            {
                // The swap changes the target itself: under its lock, as readers' index builds on it are.
                await LockAsync(ct, target.Destination.Table);
                try
                {
                    carried = await SwapInAsync(ct);
                }
                finally
                {
                    await UnlockAsync(target.Destination.Table);
                }
            }

            if (!await TableExistsAsync(target.Destination.Table, ct)) return 0;
            BrowsingIndexes = [.. await MissingBrowsingIndexesAsync(ct), .. await StillApplicableAsync(carried, ct)];
            return await CountAsync(target.Destination.Table, ct);
        }

        /// <summary>Replace mode: the fresh table takes the target's name at once; the sort indexes the old one had
        /// are returned, to be built on the new one.</summary>
        private async Task<IReadOnlyList<BrowsingIndex>> SwapInAsync(CancellationToken ct)
        {
            var quoted = ColumnNames.Quote(target.Destination.Table);
            var fresh = ColumnNames.Quote(target.Table);
            if (!await TableExistsAsync(target.Destination.Table, ct))
            {
                await BoundedDdl.ExecuteAsync(connection, target.Destination.Table, $"RENAME TABLE {fresh} TO {quoted}", ct);
                return [];
            }

            // The indexes readers had built for sorting go over to the replacement.
            var carried = (await ReaderIndexes.SortIndexesAsync(connection, target.Destination.Table, ct)).Select(i => new BrowsingIndex(i.Name, i.Column)).ToList();
            var old = ColumnNames.Quote(target.Table[..Math.Min(target.Table.Length, 55)] + "_old");
            await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {old}", cancellationToken: ct));
            // Readers of the table (a long export) hold it open: the swap waits a few seconds at a time, letting them through.
            await BoundedDdl.ExecuteAsync(connection, target.Destination.Table, $"RENAME TABLE {quoted} TO {old}, {fresh} TO {quoted}", ct);
            await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE {old}", cancellationToken: ct));
            return carried;
        }

        /// <summary>
        /// After a failure, under the table's lock. Replace mode: the half-filled new table goes; the old one was never
        /// touched. The others: the rows written before the failure stay, and so must the index that keeps their keys
        /// unique; when the database is what failed, that is left to the next run on the table, which finds it missing.
        /// </summary>
        public async Task AbandonAsync()
        {
            var replace = target.Destination.WriteMode == WriteModes.Replace;
            try
            {
                await LockAsync(CancellationToken.None);
                try
                {
                    if (replace)
                    {
                        await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {ColumnNames.Quote(target.Table)}"));
                        return;
                    }

                    await EnsureIndexesAsync(CancellationToken.None);
                    await DropDefaultsAsync();
                }
                finally
                {
                    await UnlockAsync();
                }

                if (await TableExistsAsync(target.Table, CancellationToken.None)) BrowsingIndexes = await MissingBrowsingIndexesAsync(CancellationToken.None);
            }
            catch (Exception e) when (!replace && e is MySqlException or IOException or System.Net.Sockets.SocketException)
            {
                // The next run on this table sees the index missing and builds it.
            }
        }

        public async Task<long> FinishCountOnlyAsync(string table) =>
            await TableExistsAsync(table, CancellationToken.None) ? await CountAsync(table, CancellationToken.None) : 0;

        /// <summary>
        /// An index on each later date column of the natural key (one day across all symbols; sorting by date),
        /// missing from the table as the run leaves it. Reads need them, writes do not: whoever ran the write has
        /// them built once the run is recorded (<see cref="AddIndexesAsync"/>).
        /// </summary>
        private async Task<IReadOnlyList<BrowsingIndex>> MissingBrowsingIndexesAsync(CancellationToken ct)
        {
            if (!shape.NaturalKey) return [];
            var names = await IndexNamesAsync(ct);
            var missing = new List<BrowsingIndex>();
            for (var i = 1; i < target.KeyColumns.Count; i++)
            {
                if (shape.Columns.TryGetValue(target.KeyColumns[i], out var column) && column.Type.Kind is ColumnKind.Date or ColumnKind.DateTime && !names.Contains(IndexNames.KeyColumn(i)))
                {
                    missing.Add(new BrowsingIndex(IndexNames.KeyColumn(i), column.Sql));
                }
            }

            return missing;
        }

        /// <summary>Those of <paramref name="indexes"/> whose column the table as the run left it still has.</summary>
        private async Task<IReadOnlyList<BrowsingIndex>> StillApplicableAsync(IReadOnlyList<BrowsingIndex> indexes, CancellationToken ct)
        {
            if (indexes.Count == 0) return [];
            var present = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
                new { table = target.Destination.Table }, cancellationToken: ct))).ToHashSet(StringComparer.OrdinalIgnoreCase);
            return indexes.Where(i => present.Contains(i.Column)).ToList();
        }

        private Task<HashSet<string>> IndexNamesAsync(CancellationToken ct) => ReaderIndexes.NamesAsync(connection, target.Table, ct);

        private async Task<bool> TableExistsAsync(string table, CancellationToken ct) =>
            await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
                new { table }, cancellationToken: ct)) > 0;

        private async Task<long> CountAsync(string table, CancellationToken ct) =>
            await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(table)}", commandTimeout: 0, cancellationToken: ct));
    }
}
