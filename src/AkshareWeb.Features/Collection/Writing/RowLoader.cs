using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// Loads rows into a table: LOAD DATA LOCAL INFILE from a tab-separated stream built here, or multi-row INSERTs when
/// the server refuses local files. Rows loaded into the filled table also get this execution's id and time. Keeps how
/// batches go in: the bulk load while the server takes it, and straight in while the table has had none of the rows
/// seen so far.
/// </summary>
internal sealed class RowLoader(WriteConnection db, FilledTable table, TableShape shape, TimeProvider time, bool useBulk)
{
    /// <summary>The load text of a batch not rendered ahead.</summary>
    private readonly ByteBuffer text = new(1 << 16);

    /// <summary>LOAD DATA LOCAL INFILE; off once the server refuses it (multi-row INSERTs then).</summary>
    public bool UseBulk { get; private set; } = useBulk;

    /// <summary>While the table has had none of the rows seen so far, batches go straight in, without looking keys up.</summary>
    public bool StraightIn { get; set; }

    /// <summary>
    /// Loads <paramref name="rows"/> into <paramref name="target"/> (the filled table, or a temporary table of the
    /// merge); returns the rows the server took and its warning count. <paramref name="prebuilt"/> is the load text
    /// rendered ahead; <paramref name="byDefault"/> leaves the bookkeeping columns to their defaults.
    /// </summary>
    public async Task<(long Rows, long Warnings)> LoadAsync(string target, IReadOnlyList<LoadField> fields, IReadOnlyList<int> rows, BatchRendering rendered,
        long[]? ids, bool ignore, MySqlTransaction transaction, CancellationToken ct, ByteBuffer? prebuilt = null, bool byDefault = false)
    {
        var connection = db.Connection;
        var bookkeeping = target == table.Name;
        var now = time.GetUtcNow().UtcDateTime;
        if (UseBulk)
        {
            try
            {
                var load = prebuilt;
                if (load is null)
                {
                    text.Clear();
                    rendered.WriteTabSeparated(text, fields, rows, ids, shape.RowHashBytes);
                    load = text;
                }

                var loader = new MySqlBulkLoader(connection)
                {
                    TableName = bookkeeping ? ColumnNames.Quote(target) : target,
                    // The loader closes the stream it is given: a view of the reused buffer, not the buffer itself.
                    SourceStream = new MemoryStream(load.Array, 0, load.Length, writable: false),
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
                    if (fields[i].Source is FieldSource.RowHash or FieldSource.RowKey)
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
                    loader.Expressions.Add($"_execution_id = {ColumnComments.Literal(table.ExecutionId)}");
                    loader.Expressions.Add($"_collected_at = '{now:yyyy-MM-dd HH:mm:ss.ffffff}'");
                }

                var taken = await loader.LoadAsync(ct);
                var warnings = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT @@warning_count", transaction: transaction, cancellationToken: ct));
                return (taken, warnings);
            }
            catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.NotAllowedCommand || e.Message.Contains("local", StringComparison.OrdinalIgnoreCase))
            {
                // The server forbids LOCAL INFILE: multi-row INSERTs from now on.
                UseBulk = false;
            }
            catch (NotSupportedException)
            {
                UseBulk = false;
            }
        }

        var names = fields.Select(f => f.Column).ToList();
        if (bookkeeping) names.AddRange([BookkeepingColumns.ExecutionId, BookkeepingColumns.CollectedAt]);
        long total = 0, warningCount = 0;
        const int chunk = 500;
        for (var start = 0; start < rows.Count; start += chunk)
        {
            await using var command = new MySqlCommand { Connection = connection, Transaction = transaction, CommandTimeout = 0 };
            command.Parameters.AddWithValue("@e", table.ExecutionId);
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
                        FieldSource.Cell => rendered.Text(row, fields[f].Index) ?? (object)DBNull.Value,
                        FieldSource.RowHash => rendered.Hash(row)[..Math.Min(shape.RowHashBytes, BatchRendering.HashBytes)].ToArray(),
                        FieldSource.RowKey => rendered.Key(row).ToArray(),
                        FieldSource.Ordinal => row,
                        _ => ids![row],
                    });
                }

                tuples.Append(bookkeeping ? ",@e,@now)" : ")");
            }

            command.CommandText = $"INSERT {(ignore ? "IGNORE " : "")}INTO {(bookkeeping ? ColumnNames.Quote(target) : target)} ({string.Join(", ", names)}) VALUES {tuples}";
            total += await command.ExecuteNonQueryAsync(ct);
            warningCount += await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT @@warning_count", transaction: transaction, cancellationToken: ct));
        }

        return (total, warningCount);
    }

    /// <summary>A load that took every row may still have bent values to fit (truncation, bad dates): that is a failure.</summary>
    public async Task FailOnWarningsAsync(long warnings, MySqlTransaction transaction, CancellationToken ct)
    {
        if (warnings == 0) return;
        throw await RefusedAsync("the database would have changed values to make them fit their columns", transaction, ct);
    }

    /// <summary>The failure of a load the server took only in part or bent: <paramref name="what"/> and the warnings'
    /// numbers for the record, their text (which names the schema and its constraints) for the log.</summary>
    public async Task<RowsRefusedException> RefusedAsync(string what, MySqlTransaction transaction, CancellationToken ct)
    {
        var warnings = (await db.Connection.QueryAsync<(string Level, long Code, string Message)>(
            new CommandDefinition("SHOW WARNINGS LIMIT 3", transaction: transaction, cancellationToken: ct))).ToList();
        var distinct = warnings.Select(w => w.Code).Distinct().ToList();
        var codes = string.Join(", ", distinct);
        var number = distinct.Count == 1 ? "warning" : "warnings";
        return new RowsRefusedException(
            $"{what} (MySQL {number} {codes}; the service's log has the server's message)",
            $"{table.Name}: {string.Join("; ", warnings.Select(w => $"{w.Code} {w.Message}"))}");
    }
}
