using System.Data;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using MySqlConnector;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Collection;

/// <summary>Configuration section <c>Collection</c>.</summary>
public sealed class CollectionOptions
{
    public const string Section = "Collection";

    /// <summary>Load batches with LOAD DATA LOCAL INFILE (MySqlBulkCopy). Off, or refused by the server, batches
    /// go in as multi-row INSERTs: slower, same result.</summary>
    public bool UseBulkLoad { get; set; } = true;
}

public static class WriteModes
{
    public const string Upsert = "upsert";
    public const string Append = "append";
    public const string Replace = "replace";
    public static readonly string[] All = [Upsert, Append, Replace];
}

/// <summary>What one batch did to the table.</summary>
public readonly record struct BatchResult(long Inserted, long Updated);

/// <summary>
/// Writes one execution's rows into its ak_* table, batch by batch. Each batch: widen the table for the batch's
/// columns (DDL, which MySQL commits by itself, and which never removes or narrows anything), bulk-load the batch
/// into a staging table, then one set-based INSERT ... SELECT ... ON DUPLICATE KEY UPDATE in a transaction, so a
/// failed batch leaves the table's rows as they were before it.
/// Every row carries _row_key (SHA-256 of its natural key; of all its values in append mode) under a unique index,
/// and _row_hash (of all its values): a re-run inserts nothing twice and rewrites only rows whose values changed.
/// </summary>
public sealed partial class WarehouseWriter(Warehouse warehouse, TimeProvider time, IOptions<CollectionOptions>? options = null)
{
    [GeneratedRegex("^ak_[a-z0-9_]{1,61}$")]
    public static partial Regex TableNamePattern();

    public async Task<TableWrite> OpenAsync(ExecutionPlan plan, string executionId, CancellationToken ct)
    {
        if (!TableNamePattern().IsMatch(plan.TargetTable))
        {
            throw new InvalidOperationException($"target table {plan.TargetTable} is not ak_ followed by lowercase letters, digits and _ (64 at most)");
        }

        var connection = await warehouse.OpenAsync(ct);
        try
        {
            var write = new TableWrite(connection, plan, executionId, time, options?.Value.UseBulkLoad ?? true);
            await write.StartAsync(ct);
            return write;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public sealed class TableWrite : IAsyncDisposable
    {
        private readonly MySqlConnection connection;
        private readonly ExecutionPlan plan;
        private readonly string executionId;
        private readonly TimeProvider time;
        // original name -> (sql name, type), as the table has them now
        private readonly Dictionary<string, (string Sql, ColumnType Type)> columns = new(StringComparer.Ordinal);
        private readonly string writeTable;
        private bool exists;
        private bool useBulk;

        internal TableWrite(MySqlConnection connection, ExecutionPlan plan, string executionId, TimeProvider time, bool useBulk)
        {
            this.useBulk = useBulk;
            this.connection = connection;
            this.plan = plan;
            this.executionId = executionId;
            this.time = time;
            // Replace mode fills a fresh table and swaps it in at the end; readers never see a half table.
            writeTable = plan.WriteMode == WriteModes.Replace ? plan.TargetTable[..Math.Min(plan.TargetTable.Length, 55)] + "__replace" : plan.TargetTable;
        }

        public long RowsBefore { get; private set; }
        public bool TableCreated { get; private set; }
        public int ColumnsAdded { get; private set; }
        public int ColumnsWidened { get; private set; }

        internal async Task StartAsync(CancellationToken ct)
        {
            var targetExists = await TableExistsAsync(plan.TargetTable, ct);
            RowsBefore = targetExists ? await CountAsync(plan.TargetTable, ct) : 0;
            if (plan.WriteMode == WriteModes.Replace)
            {
                await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {ColumnNames.Quote(writeTable)}", cancellationToken: ct));
                exists = false;
            }
            else
            {
                exists = targetExists;
                if (exists) await LoadColumnsAsync(ct);
            }
        }

        public async Task<BatchResult> WriteBatchAsync(IReadOnlyList<Dictionary<string, JsonElement>> rows, CancellationToken ct)
        {
            if (rows.Count == 0) return default;
            var batchColumns = InferColumns(rows);
            await EnsureTableAsync(batchColumns, ct);

            var order = batchColumns.Keys.ToList();
            var keyColumns = plan.WriteMode == WriteModes.Upsert ? plan.KeyColumns : [];
            foreach (var key in keyColumns)
            {
                if (!columns.ContainsKey(key))
                {
                    throw new InvalidOperationException($"the key column {key} is not in the data (columns: {string.Join(", ", order)})");
                }
            }

            var staging = "stg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            var quotedColumns = order.Select(o => ColumnNames.Quote(columns[o].Sql)).ToList();
            var columnDefinitions = order.Select(o => $"{ColumnNames.Quote(columns[o].Sql)} {columns[o].Type.SqlType} NULL");
            await connection.ExecuteAsync(new CommandDefinition(
                $"CREATE TEMPORARY TABLE {staging} ({string.Join(", ", columnDefinitions)}, _row_key BINARY(32) NOT NULL PRIMARY KEY, _row_hash BINARY(32) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
                cancellationToken: ct));
            try
            {
                await using var transaction = await connection.BeginTransactionAsync(ct);
                var table = BuildStagingRows(rows, order, keyColumns);
                await LoadStagingAsync(staging, table, order, transaction, ct);

                var target = ColumnNames.Quote(writeTable);
                var counts = await connection.QuerySingleAsync<(decimal? Inserted, decimal? Updated)>(new CommandDefinition($"""
                    SELECT SUM(t.id IS NULL), SUM(t.id IS NOT NULL AND t._row_hash <> s._row_hash)
                    FROM {staging} s LEFT JOIN {target} t ON t._row_key = s._row_key
                    """, transaction: transaction, cancellationToken: ct, commandTimeout: 0));
                var updates = string.Join(", ", quotedColumns.Select(c => $"{c} = s.{c}")
                    .Append("_row_hash = s._row_hash").Append("_execution_id = @executionId").Append("_collected_at = @now"));
                // Only new or changed rows reach the INSERT: a re-run of unchanged data writes nothing.
                await connection.ExecuteAsync(new CommandDefinition($"""
                    INSERT INTO {target} ({string.Join(", ", quotedColumns)}, _execution_id, _collected_at, _row_key, _row_hash)
                    SELECT {string.Join(", ", quotedColumns.Select(c => "s." + c))}, @executionId, @now, s._row_key, s._row_hash
                    FROM {staging} s LEFT JOIN {target} t ON t._row_key = s._row_key
                    WHERE t.id IS NULL OR t._row_hash <> s._row_hash
                    ON DUPLICATE KEY UPDATE {updates}
                    """, new { executionId, now = time.GetUtcNow().UtcDateTime }, transaction, commandTimeout: 0, cancellationToken: ct));
                await transaction.CommitAsync(ct);
                return new BatchResult((long)(counts.Inserted ?? 0), (long)(counts.Updated ?? 0));
            }
            finally
            {
                await connection.ExecuteAsync(new CommandDefinition($"DROP TEMPORARY TABLE IF EXISTS {staging}", cancellationToken: CancellationToken.None));
            }
        }

        /// <summary>Replace mode: swaps the new table in atomically. The others: nothing to do.</summary>
        public async Task<long> FinishAsync(CancellationToken ct)
        {
            if (plan.WriteMode == WriteModes.Replace && exists)
            {
                var target = ColumnNames.Quote(plan.TargetTable);
                var fresh = ColumnNames.Quote(writeTable);
                if (await TableExistsAsync(plan.TargetTable, ct))
                {
                    var old = ColumnNames.Quote(writeTable[..Math.Min(writeTable.Length, 55)] + "_old");
                    await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {old}", cancellationToken: ct));
                    await connection.ExecuteAsync(new CommandDefinition($"RENAME TABLE {target} TO {old}, {fresh} TO {target}", cancellationToken: ct));
                    await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE {old}", cancellationToken: ct));
                }
                else
                {
                    await connection.ExecuteAsync(new CommandDefinition($"RENAME TABLE {fresh} TO {target}", cancellationToken: ct));
                }
            }

            return await TableExistsAsync(plan.TargetTable, ct) ? await CountAsync(plan.TargetTable, ct) : 0;
        }

        /// <summary>Replace mode, after a failure: the half-filled new table goes; the old one was never touched.</summary>
        public async Task AbandonAsync()
        {
            if (plan.WriteMode == WriteModes.Replace)
            {
                await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {ColumnNames.Quote(writeTable)}"));
            }
        }

        public async Task<long> FinishCountOnlyAsync(string table) =>
            await TableExistsAsync(table, CancellationToken.None) ? await CountAsync(table, CancellationToken.None) : 0;

        public ValueTask DisposeAsync() => connection.DisposeAsync();

        private Dictionary<string, ColumnType> InferColumns(IReadOnlyList<Dictionary<string, JsonElement>> rows)
        {
            var inferred = new Dictionary<string, ColumnType?>(StringComparer.Ordinal);
            foreach (var row in rows)
            {
                foreach (var (name, value) in row)
                {
                    var type = ColumnValues.TypeOf(value);
                    inferred[name] = inferred.TryGetValue(name, out var known) && known is { } k
                        ? (type is { } t ? k.Widen(t) : k)
                        : type ?? (inferred.TryGetValue(name, out var prior) ? prior : null);
                }
            }

            // A column that is null in the whole batch still exists: as short text until values say otherwise.
            return inferred.ToDictionary(p => p.Key, p => p.Value ?? new ColumnType(ColumnKind.Text, 16), StringComparer.Ordinal);
        }

        private async Task EnsureTableAsync(Dictionary<string, ColumnType> batch, CancellationToken ct)
        {
            var definitions = new List<string>();
            var taken = columns.Values.Select(c => c.Sql).ToList();
            foreach (var (original, type) in batch)
            {
                if (columns.TryGetValue(original, out var existing))
                {
                    var wider = existing.Type.Widen(type);
                    if (wider.SqlType != existing.Type.SqlType && (wider.Kind != existing.Type.Kind || wider.TextLength > existing.Type.TextLength))
                    {
                        columns[original] = (existing.Sql, wider);
                        if (exists)
                        {
                            definitions.Add($"MODIFY COLUMN {ColumnNames.Quote(existing.Sql)} {wider.SqlType} NULL COMMENT {Literal(original)}");
                            ColumnsWidened++;
                        }
                    }

                    continue;
                }

                // A name whose comment could not carry it whole is still found by its deterministic SQL name.
                var known = columns.FirstOrDefault(c => c.Value.Sql == ColumnNames.ToSql(original, []));
                if (known.Key is not null && !batch.ContainsKey(known.Key))
                {
                    columns.Remove(known.Key);
                    columns[original] = known.Value;
                    continue;
                }

                var sql = ColumnNames.ToSql(original, taken);
                taken.Add(sql);
                columns[original] = (sql, type);
                if (exists)
                {
                    definitions.Add($"ADD COLUMN {ColumnNames.Quote(sql)} {type.SqlType} NULL COMMENT {Literal(original)}");
                    ColumnsAdded++;
                }
            }

            if (!exists)
            {
                var data = columns.Select(c => $"{ColumnNames.Quote(c.Value.Sql)} {c.Value.Type.SqlType} NULL COMMENT {Literal(c.Key)}");
                await connection.ExecuteAsync(new CommandDefinition($"""
                    CREATE TABLE IF NOT EXISTS {ColumnNames.Quote(writeTable)} (
                      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                      {string.Join(",\n  ", data)},
                      _execution_id VARCHAR(40) NOT NULL COMMENT 'the execution that last wrote the row',
                      _collected_at DATETIME(6) NOT NULL COMMENT 'when (UTC)',
                      _row_key BINARY(32) NOT NULL COMMENT 'SHA-256 of the natural key (of all values in append mode)',
                      _row_hash BINARY(32) NOT NULL COMMENT 'SHA-256 of all values',
                      UNIQUE KEY ux_row_key (_row_key){NaturalKeyIndex()}
                    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT={Literal(plan.DisplayName ?? plan.InterfaceName)}
                    """, cancellationToken: ct));
                exists = true;
                TableCreated = plan.WriteMode != WriteModes.Replace || RowsBefore == 0;
                // Another run may have created it first, with columns this batch lacks: take the table as it is.
                columns.Clear();
                await LoadColumnsAsync(ct);
                await EnsureTableAsync(batch, ct);
                return;
            }
            else if (definitions.Count > 0)
            {
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        $"ALTER TABLE {ColumnNames.Quote(writeTable)} {string.Join(", ", definitions)}", commandTimeout: 0, cancellationToken: ct));
                }
                catch (MySqlException e) when (e.Number == 1060 && !retriedDdl)
                {
                    // A concurrent run on the same table added the column first: read the table again and redo.
                    retriedDdl = true;
                    columns.Clear();
                    await LoadColumnsAsync(ct);
                    ColumnsAdded -= definitions.Count(d => d.StartsWith("ADD", StringComparison.Ordinal));
                    await EnsureTableAsync(batch, ct);
                }
            }
        }

        private bool retriedDdl;

        /// <summary>Readers look rows up and sort by the natural key (one stock's history by date): index it
        /// when its columns are indexable.</summary>
        private string NaturalKeyIndex()
        {
            var keys = plan.KeyColumns.Where(columns.ContainsKey).Select(k => columns[k]).ToList();
            if (keys.Count == 0 || keys.Count > 8 || keys.Any(k => k.Type.Kind is ColumnKind.Json || k.Type.SqlType.EndsWith("TEXT", StringComparison.Ordinal)))
            {
                return "";
            }

            return $",\n  KEY ix_natural_key ({string.Join(", ", keys.Select(k => ColumnNames.Quote(k.Sql)))})";
        }

        private DataTable BuildStagingRows(IReadOnlyList<Dictionary<string, JsonElement>> rows, List<string> order, IReadOnlyList<string> keyColumns)
        {
            var table = new DataTable();
            foreach (var original in order) table.Columns.Add(columns[original].Sql, typeof(object));
            table.Columns.Add("_row_key", typeof(byte[]));
            table.Columns.Add("_row_hash", typeof(byte[]));
            var values = new object?[order.Count + 2];
            var hashInput = new StringBuilder();
            var sortedColumns = order.OrderBy(o => o, StringComparer.Ordinal).ToList();
            foreach (var row in rows)
            {
                for (var i = 0; i < order.Count; i++)
                {
                    values[i] = row.TryGetValue(order[i], out var value) ? ColumnValues.ToDb(value, columns[order[i]].Type.Kind) ?? DBNull.Value : DBNull.Value;
                }

                var hash = Hash(row, sortedColumns, hashInput);
                values[order.Count] = keyColumns.Count == 0 ? hash : Hash(row, keyColumns, hashInput);
                values[order.Count + 1] = hash;
                table.Rows.Add(values);
            }

            return table;
        }

        private static byte[] Hash(Dictionary<string, JsonElement> row, IReadOnlyList<string> names, StringBuilder buffer)
        {
            // Absent and null values are left out, so a column that appears later (null in old rows) does not
            // make every old row look changed.
            buffer.Clear();
            foreach (var name in names)
            {
                if (!row.TryGetValue(name, out var value) || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) continue;
                buffer.Append(name).Append('\0')
                    .Append(value.ValueKind == JsonValueKind.String ? "s:" : "").Append(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText())
                    .Append('\u0001');
            }

            var length = Encoding.UTF8.GetMaxByteCount(buffer.Length);
            var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
            try
            {
                var written = 0;
                foreach (var chunk in buffer.GetChunks()) written += Encoding.UTF8.GetBytes(chunk.Span, bytes.AsSpan(written));
                return SHA256.HashData(bytes.AsSpan(0, written));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
            }
        }

        private async Task LoadStagingAsync(string staging, DataTable table, List<string> order, MySqlTransaction transaction, CancellationToken ct)
        {
            if (useBulk)
            {
                try
                {
                    // LOAD DATA LOCAL INFILE under the hood; REPLACE keeps the last of two rows with one key in a batch.
                    var bulk = new MySqlBulkCopy(connection, transaction)
                    {
                        DestinationTableName = staging,
                        ConflictOption = MySqlBulkLoaderConflictOption.Replace,
                        BulkCopyTimeout = 0,
                    };
                    var result = await bulk.WriteToServerAsync(table, ct);
                    if (result.Warnings.Count == 0 || result.RowsInserted > 0) return;
                }
                catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.NotAllowedCommand
                    || e.Message.Contains("local", StringComparison.OrdinalIgnoreCase))
                {
                    // The server forbids LOCAL INFILE: multi-row INSERTs from now on.
                    useBulk = false;
                }
                catch (NotSupportedException)
                {
                    useBulk = false;
                }
            }

            var names = string.Join(", ", order.Select(o => ColumnNames.Quote(columns[o].Sql)).Append("_row_key").Append("_row_hash"));
            const int chunk = 500;
            for (var start = 0; start < table.Rows.Count; start += chunk)
            {
                var command = new MySqlCommand { Connection = connection, Transaction = transaction };
                var tuples = new StringBuilder();
                for (var r = start; r < Math.Min(table.Rows.Count, start + chunk); r++)
                {
                    tuples.Append(tuples.Length == 0 ? "(" : ",(");
                    for (var c = 0; c < table.Columns.Count; c++)
                    {
                        var parameter = $"@p{r - start}_{c}";
                        tuples.Append(c == 0 ? parameter : "," + parameter);
                        command.Parameters.AddWithValue(parameter, table.Rows[r][c]);
                    }

                    tuples.Append(')');
                }

                command.CommandText = $"REPLACE INTO {staging} ({names}) VALUES {tuples}";
                await using (command) await command.ExecuteNonQueryAsync(ct);
            }
        }

        private async Task LoadColumnsAsync(CancellationToken ct)
        {
            var rows = await connection.QueryAsync<(string Name, string DataType, long? Length, string ColumnType, string Comment)>(new CommandDefinition("""
                SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLUMN_TYPE, COLUMN_COMMENT
                FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table ORDER BY ORDINAL_POSITION
                """, new { table = writeTable }, cancellationToken: ct));
            foreach (var row in rows)
            {
                if (ColumnNames.Bookkeeping.Contains(row.Name, StringComparer.Ordinal)) continue;
                var original = string.IsNullOrEmpty(row.Comment) ? row.Name : FromComment(row.Comment);
                var type = ColumnType.FromSql(row.DataType, row.Length, row.ColumnType);
                if (type.Kind == ColumnKind.Text && row.DataType.Equals("varchar", StringComparison.OrdinalIgnoreCase))
                {
                    type = new ColumnType(ColumnKind.Text, (int)(row.Length ?? 255));
                }

                columns[original] = (row.Name, type);
            }
        }

        private async Task<bool> TableExistsAsync(string table, CancellationToken ct) =>
            await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
                new { table }, cancellationToken: ct)) > 0;

        private async Task<long> CountAsync(string table, CancellationToken ct) =>
            await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(table)}", commandTimeout: 0, cancellationToken: ct));

        /// <summary>
        /// A string literal for COMMENT clauses. Comments live in the data dictionary as 3-byte UTF-8, so a name
        /// with characters beyond the BMP (emoji) is kept JSON-escaped behind "json:"; both the backslash and
        /// the quote are escaped (the server's default SQL mode reads backslash escapes).
        /// </summary>
        private static string Literal(string text)
        {
            if (text.Any(char.IsSurrogate) || text.Contains('\0', StringComparison.Ordinal) || text.StartsWith("json:", StringComparison.Ordinal))
            {
                text = "json:" + JsonSerializer.Serialize(text, AsciiJson);
            }

            return "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";
        }

        private static string FromComment(string comment) =>
            comment.StartsWith("json:", StringComparison.Ordinal) ? JsonSerializer.Deserialize<string>(comment[5..]) ?? comment : comment;

        private static readonly JsonSerializerOptions AsciiJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default };
    }
}
