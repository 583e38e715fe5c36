using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        /// <summary>
        /// Loads rows into a table: LOAD DATA LOCAL INFILE from a tab-separated stream built here, or multi-row
        /// INSERTs when the server refuses local files. Every row also gets this execution's id and time.
        /// Returns the rows the server took and its warning count.
        /// </summary>
        private async Task<(long Rows, long Warnings)> LoadAsync(string table, IReadOnlyList<Field> fields, IReadOnlyList<int> rows, Rendered rendered,
            long[]? ids, bool ignore, MySqlTransaction transaction, CancellationToken ct, ByteBuffer? prebuilt = null, bool byDefault = false)
        {
            var bookkeeping = table == target.Table;
            var now = time.GetUtcNow().UtcDateTime;
            if (path.UseBulk)
            {
                try
                {
                    var text = prebuilt;
                    if (text is null)
                    {
                        buffers.Load.Clear();
                        rendered.WriteTabSeparated(buffers.Load, Parts(fields), rows, ids, shape.RowHashBytes);
                        text = buffers.Load;
                    }

                    var loader = new MySqlBulkLoader(connection)
                    {
                        TableName = table == target.Table ? ColumnNames.Quote(table) : table,
                        // The loader closes the stream it is given: a view of the reused buffer, not the buffer itself.
                        SourceStream = new MemoryStream(text.Array, 0, text.Length, writable: false),
                        Local = true,
                        CharacterSet = "utf8mb4",
                        FieldTerminator = "\t",
                        LineTerminator = "\n",
                        EscapeCharacter = '\\',
                        ConflictOption = ignore ? MySqlBulkLoaderConflictOption.Ignore : MySqlBulkLoaderConflictOption.None,
                        Timeout = 0,
                    };
                    for (var i = 0; i < fields.Count; i++)
                    {
                        if (fields[i].Source is Source.RowHash or Source.RowKey)
                        {
                            loader.Columns.Add($"@v{i}");
                            loader.Expressions.Add($"{fields[i].Column} = UNHEX(@v{i})");
                        }
                        else
                        {
                            loader.Columns.Add(fields[i].Column);
                        }
                    }

                    if (bookkeeping && !byDefault)
                    {
                        loader.Expressions.Add($"_execution_id = {ColumnComments.Literal(target.ExecutionId)}");
                        loader.Expressions.Add($"_collected_at = '{now:yyyy-MM-dd HH:mm:ss.ffffff}'");
                    }

                    var taken = await loader.LoadAsync(ct);
                    var warnings = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT @@warning_count", transaction: transaction, cancellationToken: ct));
                    return (taken, warnings);
                }
                catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.NotAllowedCommand || e.Message.Contains("local", StringComparison.OrdinalIgnoreCase))
                {
                    // The server forbids LOCAL INFILE: multi-row INSERTs from now on.
                    path.UseBulk = false;
                }
                catch (NotSupportedException)
                {
                    path.UseBulk = false;
                }
            }

            var names = fields.Select(f => f.Column).ToList();
            if (bookkeeping) names.AddRange([BookkeepingColumns.ExecutionId, BookkeepingColumns.CollectedAt]);
            long total = 0, warningCount = 0;
            const int chunk = 500;
            for (var start = 0; start < rows.Count; start += chunk)
            {
                await using var command = new MySqlCommand { Connection = connection, Transaction = transaction, CommandTimeout = 0 };
                command.Parameters.AddWithValue("@e", target.ExecutionId);
                command.Parameters.AddWithValue("@now", now);
                var tuples = new StringBuilder();
                for (var r = start; r < Math.Min(rows.Count, start + chunk); r++)
                {
                    var row = rows[r];
                    tuples.Append(tuples.Length == 0 ? "(" : ",(");
                    for (var f = 0; f < fields.Count; f++)
                    {
                        var parameter = $"@p{r - start}_{f}";
                        tuples.Append(f == 0 ? parameter : "," + parameter);
                        command.Parameters.AddWithValue(parameter, fields[f].Source switch
                        {
                            Source.Cell => rendered.Text(row, fields[f].Index) ?? (object)DBNull.Value,
                            Source.RowHash => rendered.Hash(row)[..Math.Min(shape.RowHashBytes, Rendered.HashBytes)].ToArray(),
                            Source.RowKey => rendered.Key(row).ToArray(),
                            Source.Ordinal => row,
                            _ => ids![row],
                        });
                    }

                    tuples.Append(bookkeeping ? ",@e,@now)" : ")");
                }

                command.CommandText = $"INSERT {(ignore ? "IGNORE " : "")}INTO {(bookkeeping ? ColumnNames.Quote(table) : table)} ({string.Join(", ", names)}) VALUES {tuples}";
                total += await command.ExecuteNonQueryAsync(ct);
                warningCount += await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT @@warning_count", transaction: transaction, cancellationToken: ct));
            }

            return (total, warningCount);
        }

        /// <summary>A load that took every row may still have bent values to fit (truncation, bad dates): that is a failure.</summary>
        private async Task FailOnWarningsAsync(long warnings, MySqlTransaction transaction, CancellationToken ct)
        {
            if (warnings == 0) return;
            throw await RefusedAsync("the database would have changed values to make them fit their columns", transaction, ct);
        }

        /// <summary>The failure of a load the server took only in part or bent: <paramref name="what"/> and the warnings'
        /// numbers for the record, their text (which names the schema and its constraints) for the log.</summary>
        private async Task<RowsRefusedException> RefusedAsync(string what, MySqlTransaction transaction, CancellationToken ct)
        {
            var warnings = (await connection.QueryAsync<(string Level, long Code, string Message)>(
                new CommandDefinition("SHOW WARNINGS LIMIT 3", transaction: transaction, cancellationToken: ct))).ToList();
            var distinct = warnings.Select(w => w.Code).Distinct().ToList();
            var codes = string.Join(", ", distinct);
            var number = distinct.Count == 1 ? "warning" : "warnings";
            return new RowsRefusedException(
                $"{what} (MySQL {number} {codes}; the service's log has the server's message)",
                $"{target.Table}: {string.Join("; ", warnings.Select(w => $"{w.Code} {w.Message}"))}");
        }

        private Task ExecuteAsync(string sql, MySqlTransaction transaction, CancellationToken ct) =>
            connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, commandTimeout: 0, cancellationToken: ct));
    }
}
