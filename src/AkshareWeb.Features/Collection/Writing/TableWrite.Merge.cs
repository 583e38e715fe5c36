using System.Security.Cryptography;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        /// <summary>Looks the batch's keys up, loads the new rows, updates the changed ones by id.</summary>
        private async Task<BatchResult> MergeAsync(RowBatch batch, Rendered rendered, List<int> rows, List<Field> fields, CancellationToken ct)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var quoted = ColumnNames.Quote(target.Table);
            var probe = "prb_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            var stage = "stg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            try
            {
                List<Field> probeFields = [new("n", Source.Ordinal, 0)];
                string probeColumns, match;
                if (shape.NaturalKey)
                {
                    var keys = target.KeyColumns.Select(k => (Column: ColumnNames.Quote(shape.Columns[k].Sql), Type: shape.Columns[k].Type.SqlType, Index: IndexOf(batch, k))).ToList();
                    probeColumns = string.Join(", ", keys.Select(k => $"{k.Column} {k.Type} NULL"));
                    match = string.Join(" AND ", keys.Select(k => $"t.{k.Column} <=> p.{k.Column}"));
                    probeFields.AddRange(keys.Select(k => new Field(k.Column, Source.Cell, k.Index)));
                }
                else
                {
                    probeColumns = $"_row_key BINARY({shape.RowKeyBytes}) NOT NULL";
                    match = "t._row_key = p._row_key";
                    probeFields.Add(new Field("_row_key", Source.RowKey, 0));
                }

                await ExecuteAsync($"CREATE TEMPORARY TABLE {probe} (n INT NOT NULL PRIMARY KEY, {probeColumns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci", transaction, ct);
                await LoadAsync(probe, probeFields, rows, rendered, null, ignore: false, transaction, ct);
                buffers.Found.Clear();
                buffers.Fresh.Clear();
                buffers.Changed.Clear();
                if (buffers.Ids.Length < rendered.Count) buffers.Ids = new long[rendered.Count];
                var stored = new byte[32];
                await using (var command = new MySqlCommand($"SELECT p.n, t.id, t._row_hash FROM {probe} p JOIN {quoted} t ON {match}", connection, transaction) { CommandTimeout = 0 })
                await using (var reader = await command.ExecuteReaderAsync(ct))
                {
                    while (await reader.ReadAsync(ct))
                    {
                        var length = (int)reader.GetBytes(2, 0, stored, 0, stored.Length);
                        Array.Clear(stored, length, stored.Length - length);
                        buffers.Found.TryAdd(reader.GetInt32(0), (reader.GetInt64(1), new UInt128(BitConverter.ToUInt64(stored, 0), BitConverter.ToUInt64(stored, 8))));
                    }
                }

                foreach (var row in rows)
                {
                    if (!buffers.Found.TryGetValue(row, out var existing)) buffers.Fresh.Add(row);
                    else if (rendered.HashId(row) != existing.Hash)
                    {
                        buffers.Changed.Add(row);
                        buffers.Ids[row] = existing.Id;
                    }
                }

                long inserted = 0;
                if (buffers.Fresh.Count > 0)
                {
                    (inserted, var warnings) = await LoadAsync(target.Table, fields, buffers.Fresh, rendered, null, ignore: true, transaction, ct);
                    if (inserted != buffers.Fresh.Count)
                    {
                        throw await RefusedAsync($"the database refused {buffers.Fresh.Count - inserted} of {buffers.Fresh.Count} new rows", transaction, ct);
                    }

                    await FailOnWarningsAsync(warnings, transaction, ct);
                }

                if (buffers.Changed.Count > 0)
                {
                    var valueColumns = fields.Where(f => f.Source == Source.Cell).ToList();
                    var definitions = valueColumns.Select(f => $"{f.Column} {shape.Columns[batch.Columns[f.Index]].Type.SqlType} NULL");
                    await ExecuteAsync($"CREATE TEMPORARY TABLE {stage} (id BIGINT NOT NULL PRIMARY KEY, {string.Join(", ", definitions)}, _row_hash BINARY({shape.RowHashBytes}) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci", transaction, ct);
                    var (_, warnings) = await LoadAsync(stage, [new("id", Source.Id, 0), .. valueColumns, new("_row_hash", Source.RowHash, 0)], buffers.Changed, rendered, buffers.Ids, ignore: false, transaction, ct);
                    await FailOnWarningsAsync(warnings, transaction, ct);
                    var assignments = valueColumns.Select(f => $"t.{f.Column} = s.{f.Column}").Append("t._row_hash = s._row_hash")
                        .Append("t._execution_id = @executionId").Append("t._collected_at = @now");
                    await connection.ExecuteAsync(new CommandDefinition($"UPDATE {quoted} t JOIN {stage} s ON t.id = s.id SET {string.Join(", ", assignments)}",
                        new { executionId = target.ExecutionId, now = time.GetUtcNow().UtcDateTime }, transaction, commandTimeout: 0, cancellationToken: ct));
                }

                await transaction.CommitAsync(ct);
                path.StraightIn = buffers.Found.Count == 0;
                await DropScratchAsync(probe, stage);
                return new BatchResult(inserted, buffers.Changed.Count);
            }
            catch
            {
                // Undone before the scratch tables go: a command outside the open transaction is refused, and that
                // refusal took the place of the merge's own failure. Quietly, on a connection that may be gone: the
                // failure to report (and to repeat the batch on, after a lost node) is the merge's.
                try
                {
                    await transaction.RollbackAsync(CancellationToken.None);
                    await DropScratchAsync(probe, stage);
                }
                catch (Exception cleanUp) when (cleanUp is MySqlException or InvalidOperationException or IOException or System.Net.Sockets.SocketException)
                {
                }

                throw;
            }
        }

        private Task DropScratchAsync(string probe, string stage) =>
            connection.ExecuteAsync(new CommandDefinition($"DROP TEMPORARY TABLE IF EXISTS {probe}, {stage}", cancellationToken: CancellationToken.None));

        private static int IndexOf(RowBatch batch, string column)
        {
            for (var i = 0; i < batch.Columns.Count; i++)
            {
                if (batch.Columns[i] == column) return i;
            }

            return -1;
        }
    }
}
