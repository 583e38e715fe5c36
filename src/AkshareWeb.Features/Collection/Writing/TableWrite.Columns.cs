using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        private async Task LoadColumnsAsync(CancellationToken ct)
        {
            var rows = await connection.QueryAsync<(string Name, string DataType, long? Length, string ColumnType, string Comment, long? Octets, string? Default)>(new CommandDefinition("""
                SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLUMN_TYPE, COLUMN_COMMENT, CHARACTER_OCTET_LENGTH, COLUMN_DEFAULT
                FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table ORDER BY ORDINAL_POSITION
                """, new { table = target.Table }, cancellationToken: ct));
            var hasRowKey = false;
            foreach (var row in rows)
            {
                if (row.Name == BookkeepingColumns.RowHash) shape.RowHashBytes = (int)Math.Min(32, row.Octets ?? 32);
                if (row.Name == BookkeepingColumns.RowKey) shape.RowKeyBytes = (int)Math.Min(32, row.Octets ?? 32);
                if (row.Name == BookkeepingColumns.RowKey) hasRowKey = true;
                if (row.Name == BookkeepingColumns.ExecutionId)
                {
                    // MariaDB quotes a string default in information_schema, MySQL does not.
                    var given = row.Default is { Length: > 0 } d && d != "NULL" ? d.Trim('\'') : null;
                    path.OwnDefaults = given == target.ExecutionId && !target.Shared;
                }

                if (BookkeepingColumns.IsBookkeeping(row.Name)) continue;
                var original = ColumnComments.OriginalName(row.Name, row.Comment);
                var type = ColumnType.FromSql(row.DataType, row.Length, row.ColumnType);
                if (type.Kind == ColumnKind.Text && row.DataType.Equals("varchar", StringComparison.OrdinalIgnoreCase))
                {
                    type = new ColumnType(ColumnKind.Text, (int)(row.Length ?? 255));
                }

                shape.Columns[original] = (row.Name, type);
            }

            // A table made with the natural key as its unique index has no _row_key.
            shape.NaturalKey = !hasRowKey && target.KeyColumns.Count > 0;
            if (!hasRowKey && !shape.NaturalKey)
            {
                throw new InvalidOperationException($"{target.Table} has no _row_key column, so rows cannot be told apart without a natural key; write it in upsert mode with key columns or drop it");
            }

            if (hasRowKey && target.Destination.WriteMode == WriteModes.Upsert && KeyIsIndexable() && target.Table == target.Destination.Table)
            {
                // Written before in append mode, whose _row_key hashes the whole row, and now upserted on a key (a
                // script whose rows changed meaning on later days): the rows there get the key as the table's unique
                // index, keeping the newest of those that share it, so the upsert finds them instead of adding them again.
                await LockAsync(ct);
                try
                {
                    await BoundedDdl.ExecuteAsync(connection, target.Table, $"ALTER TABLE {ColumnNames.Quote(target.Table)} DROP INDEX ux_row_key, DROP COLUMN _row_key", ct);
                }
                finally
                {
                    await UnlockAsync();
                }

                hasRowKey = false;
                shape.NaturalKey = true;
                KeyRebuilt = true;
            }

            // New, or its first run ended before the index was built: build it at the end of this one.
            keyIndex.Pending = shape.NaturalKey && !(await IndexNamesAsync(ct)).Contains(IndexNames.NaturalKey);
            if (shape.NaturalKey && !keyIndex.Pending)
            {
                // The script's key changed (period added to it, say): the old index would let a row overwrite one
                // that means something else, so it is rebuilt on the new key before anything is looked up.
                var indexed = (await connection.QueryAsync<string>(new CommandDefinition("""
                    SELECT COLUMN_NAME FROM information_schema.STATISTICS
                    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND INDEX_NAME = 'ux_natural_key' ORDER BY SEQ_IN_INDEX
                    """, new { table = target.Table }, cancellationToken: ct))).ToList();
                var wanted = target.KeyColumns.Select(k => shape.Columns.TryGetValue(k, out var c) ? c.Sql : null).ToList();
                if (!indexed.SequenceEqual(wanted, StringComparer.OrdinalIgnoreCase))
                {
                    keyIndex.Rekey = true;
                    keyIndex.Pending = true;
                }
            }
        }
    }
}
