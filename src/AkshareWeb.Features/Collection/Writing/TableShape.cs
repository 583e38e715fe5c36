using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>What reading the table told beside its columns: whether rows are told apart by <c>_row_key</c>, and the
/// default of <c>_execution_id</c> (the run that created the table names itself there while it loads).</summary>
internal readonly record struct TableFacts(bool HasRowKey, string? ExecutionIdDefault);

/// <summary>What <see cref="TableShape.EnsureAsync"/> asks of its caller before it is called again: nothing (the table
/// fits the batch), a new reading of the table (before its first change, or after another writer's column got in the
/// way), or, the table having just been created, the creator's part and then a new reading.</summary>
internal enum ShapeChange { Ready, Reread, Created }

/// <summary>
/// The table's columns as this write knows them, and the DDL that keeps them ahead of the batches: a table created for
/// the first batch, a column added for a new name, a column widened for a longer or wider value. DDL never removes or
/// narrows anything. Original names that MySQL cannot hold get a SQL name of their own (<see cref="ColumnNames"/>)
/// and keep the original in the column's comment.
/// </summary>
internal sealed class TableShape(WriteConnection db, FilledTable table, TimeProvider time)
{
    /// <summary>The width of <c>_row_hash</c> and <c>_row_key</c> in a table this engine creates.</summary>
    public const int NewRowHashBytes = 16;

    private PublishedShape? published;

    /// <summary>A column add that raced another run's has been redone once.</summary>
    private bool retriedDdl;

    /// <summary>Original name -> (SQL name, type), as the table has them now.</summary>
    public Dictionary<string, (string Sql, ColumnType Type)> Columns { get; } = new(StringComparer.Ordinal);

    public bool Exists { get; set; }

    /// <summary>The key columns themselves carry the unique index (else <c>_row_key</c> does).</summary>
    public bool NaturalKey { get; set; }

    public int RowHashBytes { get; private set; } = NewRowHashBytes;

    public int RowKeyBytes { get; private set; } = NewRowHashBytes;

    /// <summary>This write created the table.</summary>
    public bool Created { get; private set; }

    public int ColumnsAdded { get; private set; }

    public int ColumnsWidened { get; private set; }

    /// <summary>The columns as <see cref="BatchRenderer.Prepare"/> on the reading side sees them (see <see cref="Publish"/>).</summary>
    public PublishedShape? Published => Volatile.Read(ref published);

    /// <summary>Reads the table's columns as they are now (it exists). Called under the table's lock.</summary>
    public async Task<TableFacts> ReadAsync(CancellationToken ct)
    {
        Columns.Clear();
        var rows = await db.Connection.QueryAsync<(string Name, string DataType, long? Length, string ColumnType, string Comment, long? Octets, string? Default)>(new CommandDefinition("""
            SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLUMN_TYPE, COLUMN_COMMENT, CHARACTER_OCTET_LENGTH, COLUMN_DEFAULT
            FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table ORDER BY ORDINAL_POSITION
            """, new { table = table.Name }, cancellationToken: ct));
        var hasRowKey = false;
        string? executionIdDefault = null;
        foreach (var row in rows)
        {
            if (row.Name == BookkeepingColumns.RowHash) RowHashBytes = (int)Math.Min(32, row.Octets ?? 32);
            if (row.Name == BookkeepingColumns.RowKey) RowKeyBytes = (int)Math.Min(32, row.Octets ?? 32);
            if (row.Name == BookkeepingColumns.RowKey) hasRowKey = true;
            if (row.Name == BookkeepingColumns.ExecutionId)
            {
                // MariaDB quotes a string default in information_schema, MySQL does not.
                executionIdDefault = row.Default is { Length: > 0 } d && d != "NULL" ? d.Trim('\'') : null;
            }

            if (BookkeepingColumns.IsBookkeeping(row.Name)) continue;
            var original = ColumnComments.OriginalName(row.Name, row.Comment);
            var type = ColumnType.FromSql(row.DataType, row.Length, row.ColumnType);
            if (type.Kind == ColumnKind.Text && row.DataType.Equals("varchar", StringComparison.OrdinalIgnoreCase))
            {
                type = new ColumnType(ColumnKind.Text, (int)(row.Length ?? 255));
            }

            Columns[original] = (row.Name, type);
        }

        // A table made with the natural key as its unique index has no _row_key.
        NaturalKey = !hasRowKey && table.KeyColumns.Count > 0;
        if (!hasRowKey && !NaturalKey)
        {
            throw new InvalidOperationException($"{table.Name} has no _row_key column, so rows cannot be told apart without a natural key; write it in upsert mode with key columns or drop it");
        }

        return new TableFacts(hasRowKey, executionIdDefault);
    }

    /// <summary>
    /// Makes the table fit the batch: created, its new columns added, those its values outgrow widened. Called under
    /// the table's lock; before it changes anything the table is read again (<paramref name="reread"/> false asks the
    /// caller for that), since another writer may have changed it after this one last looked (added the column
    /// itself, or widened it further than this batch needs, which a MODIFY from the old shape would narrow again).
    /// </summary>
    public async Task<ShapeChange> EnsureAsync(RowBatch batch, bool reread, CancellationToken ct)
    {
        var definitions = new List<string>();
        var (added, widened) = (0, 0);
        var taken = Columns.Values.Select(c => c.Sql).ToList();
        for (var i = 0; i < batch.Columns.Count; i++)
        {
            var original = batch.Columns[i];
            var seen = batch.Types[i];
            if (Columns.TryGetValue(original, out var existing))
            {
                // A batch with only nulls in a column says nothing about its type.
                if (seen is not { } type) continue;
                var wider = existing.Type.Widen(type);
                if (wider.SqlType != existing.Type.SqlType && (wider.Kind != existing.Type.Kind || wider.TextLength > existing.Type.TextLength))
                {
                    Columns[original] = (existing.Sql, wider);
                    if (Exists)
                    {
                        definitions.Add($"MODIFY COLUMN {ColumnNames.Quote(existing.Sql)} {wider.SqlType} NULL COMMENT {ColumnComments.Literal(original)}");
                        widened++;
                    }
                }

                continue;
            }

            // A name whose comment could not carry it whole is still found by its deterministic SQL name.
            var known = Columns.FirstOrDefault(c => c.Value.Sql == ColumnNames.ToSql(original, []));
            if (known.Key is not null && !batch.Columns.Contains(known.Key))
            {
                Columns.Remove(known.Key);
                Columns[original] = known.Value;
                continue;
            }

            var sql = ColumnNames.ToSql(original, taken);
            taken.Add(sql);
            // A column that is null in the whole batch still exists: as short text until values say otherwise.
            var created = seen ?? new ColumnType(ColumnKind.Text, 16);
            Columns[original] = (sql, created);
            if (Exists)
            {
                definitions.Add($"ADD COLUMN {ColumnNames.Quote(sql)} {created.SqlType} NULL COMMENT {ColumnComments.Literal(original)}");
                added++;
            }
        }

        if (Exists && definitions.Count == 0) return ShapeChange.Ready;
        if (!reread) return ShapeChange.Reread;
        if (!Exists)
        {
            await CreateAsync(ct);
            return ShapeChange.Created;
        }

        try
        {
            await BoundedDdl.ExecuteAsync(db.Connection, table.Name, $"ALTER TABLE {table.Quoted} {string.Join(", ", definitions)}", ct);
            ColumnsAdded += added;
            ColumnsWidened += widened;
            return ShapeChange.Ready;
        }
        catch (MySqlException e) when (e.Number == 1060 && !retriedDdl)
        {
            // Every writer adds columns under the lock; one added by hand meanwhile: read the table again and redo.
            retriedDdl = true;
            return ShapeChange.Reread;
        }
    }

    /// <summary>
    /// The table for the first batch: its columns, the bookkeeping columns whose defaults name this run (its first
    /// loads then need not set them row by row), and the unique index on <c>_row_key</c> when the key columns cannot
    /// carry one themselves; a natural key's index is built after the run's first rows are in (<see cref="NaturalKeyIndex"/>).
    /// </summary>
    private async Task CreateAsync(CancellationToken ct)
    {
        NaturalKey = KeyIsIndexable();
        var data = Columns.Select(c => $"{ColumnNames.Quote(c.Value.Sql)} {c.Value.Type.SqlType} NULL COMMENT {ColumnComments.Literal(c.Key)}");
        var key = NaturalKey
            ? ""
            : $",\n  _row_key BINARY({NewRowHashBytes}) NOT NULL COMMENT 'XXH128 of the natural key (of all values in append and replace mode)',\n  UNIQUE KEY ux_row_key (_row_key)";
        await db.Connection.ExecuteAsync(new CommandDefinition($"""
            CREATE TABLE IF NOT EXISTS {table.Quoted} (
              id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
              {string.Join(",\n  ", data)},
              _execution_id VARCHAR(40) NOT NULL DEFAULT {ColumnComments.Literal(table.ExecutionId)} COMMENT 'the execution that last wrote the row',
              _collected_at DATETIME(6) NOT NULL DEFAULT '{time.GetUtcNow().UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}' COMMENT 'when (UTC)',
              _row_hash BINARY({NewRowHashBytes}) NOT NULL COMMENT 'XXH128 of all non-null values'{key}
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT={ColumnComments.Literal(table.Destination.Comment)}
            """, cancellationToken: ct));
        Exists = true;
        Created = true;
    }

    /// <summary>
    /// The key columns themselves carry the unique index when they are all there and small enough for one
    /// InnoDB index (3,072 bytes). A key column that later outgrows VARCHAR(255) makes the ALTER fail, and
    /// the run with it, rather than losing the key.
    /// </summary>
    public bool KeyIsIndexable()
    {
        if (table.KeyColumns.Count is 0 or > 16 || table.KeyColumns.Any(k => !Columns.ContainsKey(k))) return false;
        var bytes = 0;
        foreach (var key in table.KeyColumns)
        {
            var type = Columns[key].Type;
            if (type.Kind == ColumnKind.Json || (type.Kind == ColumnKind.Text && type.TextLength > 255)) return false;
            bytes += type.Kind switch { ColumnKind.Text => 4 * 255, ColumnKind.BigInteger => 30, _ => 8 };
        }

        return bytes <= 3072;
    }

    /// <summary>Makes the table's columns as they are now visible to the reading side.</summary>
    public void Publish()
    {
        var current = Published;
        if (current is not null && current.NaturalKey == NaturalKey && current.RowHashBytes == RowHashBytes && current.Columns.Count == Columns.Count
            && Columns.All(c => current.Columns.TryGetValue(c.Key, out var known) && known == c.Value))
        {
            return;
        }

        Volatile.Write(ref published, new PublishedShape(new Dictionary<string, (string, ColumnType)>(Columns, StringComparer.Ordinal), NaturalKey, RowHashBytes));
    }
}
