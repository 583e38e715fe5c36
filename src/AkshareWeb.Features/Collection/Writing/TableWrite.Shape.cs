using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        /// <summary>
        /// Makes the table fit the batch: created, its new columns added, those its values outgrow widened. Called
        /// under the table's lock (<see cref="WriteAsync"/>); before it changes anything the shape is read again there,
        /// since another writer may have changed the table after this one last looked (added the column itself, or
        /// widened it further than this batch needs, which a MODIFY from the old shape would narrow again).
        /// </summary>
        private async Task EnsureTableAsync(RowBatch batch, CancellationToken ct, bool reread = false)
        {
            var definitions = new List<string>();
            var (added, widened) = (0, 0);
            var taken = shape.Columns.Values.Select(c => c.Sql).ToList();
            for (var i = 0; i < batch.Columns.Count; i++)
            {
                var original = batch.Columns[i];
                var seen = batch.Types[i];
                if (shape.Columns.TryGetValue(original, out var existing))
                {
                    // A batch with only nulls in a column says nothing about its type.
                    if (seen is not { } type) continue;
                    var wider = existing.Type.Widen(type);
                    if (wider.SqlType != existing.Type.SqlType && (wider.Kind != existing.Type.Kind || wider.TextLength > existing.Type.TextLength))
                    {
                        shape.Columns[original] = (existing.Sql, wider);
                        if (shape.Exists)
                        {
                            definitions.Add($"MODIFY COLUMN {ColumnNames.Quote(existing.Sql)} {wider.SqlType} NULL COMMENT {ColumnComments.Literal(original)}");
                            widened++;
                        }
                    }

                    continue;
                }

                // A name whose comment could not carry it whole is still found by its deterministic SQL name.
                var known = shape.Columns.FirstOrDefault(c => c.Value.Sql == ColumnNames.ToSql(original, []));
                if (known.Key is not null && !batch.Columns.Contains(known.Key))
                {
                    shape.Columns.Remove(known.Key);
                    shape.Columns[original] = known.Value;
                    continue;
                }

                var sql = ColumnNames.ToSql(original, taken);
                taken.Add(sql);
                // A column that is null in the whole batch still exists: as short text until values say otherwise.
                var created = seen ?? new ColumnType(ColumnKind.Text, 16);
                shape.Columns[original] = (sql, created);
                if (shape.Exists)
                {
                    definitions.Add($"ADD COLUMN {ColumnNames.Quote(sql)} {created.SqlType} NULL COMMENT {ColumnComments.Literal(original)}");
                    added++;
                }
            }

            if (shape.Exists && definitions.Count == 0) return;
            if (!reread)
            {
                shape.Columns.Clear();
                shape.Exists = await TableExistsAsync(target.Table, ct);
                if (shape.Exists) await LoadColumnsAsync(ct);
                await EnsureTableAsync(batch, ct, reread: true);
                return;
            }

            if (!shape.Exists)
            {
                shape.NaturalKey = KeyIsIndexable();
                var data = shape.Columns.Select(c => $"{ColumnNames.Quote(c.Value.Sql)} {c.Value.Type.SqlType} NULL COMMENT {ColumnComments.Literal(c.Key)}");
                // A new table gets its natural-key indexes after the run's rows are in (see EnsureIndexesAsync).
                var key = shape.NaturalKey
                    ? ""
                    : $",\n  _row_key BINARY({NewRowHashBytes}) NOT NULL COMMENT 'XXH128 of the natural key (of all values in append and replace mode)',\n  UNIQUE KEY ux_row_key (_row_key)";
                await connection.ExecuteAsync(new CommandDefinition($"""
                    CREATE TABLE IF NOT EXISTS {ColumnNames.Quote(target.Table)} (
                      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                      {string.Join(",\n  ", data)},
                      _execution_id VARCHAR(40) NOT NULL DEFAULT {ColumnComments.Literal(target.ExecutionId)} COMMENT 'the execution that last wrote the row',
                      _collected_at DATETIME(6) NOT NULL DEFAULT '{time.GetUtcNow().UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}' COMMENT 'when (UTC)',
                      _row_hash BINARY({NewRowHashBytes}) NOT NULL COMMENT 'XXH128 of all non-null values'{key}
                    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT={ColumnComments.Literal(target.Destination.Comment)}
                    """, cancellationToken: ct));
                shape.Exists = true;
                TableCreated = target.Destination.WriteMode != WriteModes.Replace || RowsBefore == 0;
                if (target.Shared)
                {
                    path.OwnDefaults = true;
                    await DropDefaultsAsync();
                }

                // Taken as the table now is (made by hand meanwhile, it may differ from what was asked for).
                shape.Columns.Clear();
                await LoadColumnsAsync(ct);
                await EnsureTableAsync(batch, ct, reread: true);
                return;
            }

            try
            {
                await BoundedDdl.ExecuteAsync(connection, target.Table, $"ALTER TABLE {ColumnNames.Quote(target.Table)} {string.Join(", ", definitions)}", ct);
                ColumnsAdded += added;
                ColumnsWidened += widened;
            }
            catch (MySqlException e) when (e.Number == 1060 && !shape.RetriedDdl)
            {
                // Every writer adds columns under the lock; one added by hand meanwhile: read the table again and redo.
                shape.RetriedDdl = true;
                shape.Columns.Clear();
                await LoadColumnsAsync(ct);
                await EnsureTableAsync(batch, ct, reread: true);
            }
        }

        /// <summary>
        /// The key columns themselves carry the unique index when they are all there and small enough for one
        /// InnoDB index (3,072 bytes). A key column that later outgrows VARCHAR(255) makes the ALTER fail, and
        /// the run with it, rather than losing the key.
        /// </summary>
        private bool KeyIsIndexable()
        {
            if (target.KeyColumns.Count is 0 or > 16 || target.KeyColumns.Any(k => !shape.Columns.ContainsKey(k))) return false;
            var bytes = 0;
            foreach (var key in target.KeyColumns)
            {
                var type = shape.Columns[key].Type;
                if (type.Kind == ColumnKind.Json || (type.Kind == ColumnKind.Text && type.TextLength > 255)) return false;
                bytes += type.Kind switch { ColumnKind.Text => 4 * 255, ColumnKind.BigInteger => 30, _ => 8 };
            }

            return bytes <= 3072;
        }

        /// <summary>Makes the table's columns as they are now visible to <see cref="Prepare"/>.</summary>
        private void Publish()
        {
            var current = shape.Published;
            if (current is not null && current.NaturalKey == shape.NaturalKey && current.RowHashBytes == shape.RowHashBytes && current.Columns.Count == shape.Columns.Count
                && shape.Columns.All(c => current.Columns.TryGetValue(c.Key, out var known) && known == c.Value))
            {
                return;
            }

            shape.Published = new Schema(new Dictionary<string, (string, ColumnType)>(shape.Columns, StringComparer.Ordinal), shape.NaturalKey, shape.RowHashBytes);
        }
    }
}
