using System.Security.Cryptography;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// A batch written into a table that may hold its rows already: the batch's keys are loaded into a temporary probe
/// table and looked up in one join, the new rows are loaded, and the changed ones (their <c>_row_hash</c> differs)
/// are staged and updated by id; unchanged rows are not touched. One transaction: a failed batch leaves the table
/// as it was before it.
/// </summary>
internal sealed class KeyedMerge(WriteConnection db, FilledTable table, TableShape shape, RowLoader loader, TimeProvider time)
{
    // Reused batch after batch.
    private readonly Dictionary<int, (long Id, UInt128 Hash)> found = [];
    private readonly List<int> fresh = [];
    private readonly List<int> changed = [];
    private long[] ids = [];

    /// <summary>Looks the batch's keys up, loads the new rows, updates the changed ones by id. Called under the table's lock.</summary>
    public async Task<BatchResult> MergeAsync(RowBatch batch, BatchRendering rendered, List<int> rows, List<LoadField> fields, CancellationToken ct)
    {
        await using var transaction = await db.Connection.BeginTransactionAsync(ct);
        var probe = "prb_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var stage = "stg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        try
        {
            List<LoadField> probeFields = [new("n", FieldSource.Ordinal, 0)];
            string probeColumns, match;
            if (shape.NaturalKey)
            {
                var keys = table.KeyColumns.Select(k => (Column: ColumnNames.Quote(shape.Columns[k].Sql), Type: shape.Columns[k].Type.SqlType, Index: batch.IndexOf(k))).ToList();
                probeColumns = string.Join(", ", keys.Select(k => $"{k.Column} {k.Type} NULL"));
                match = string.Join(" AND ", keys.Select(k => $"t.{k.Column} <=> p.{k.Column}"));
                probeFields.AddRange(keys.Select(k => new LoadField(k.Column, FieldSource.Cell, k.Index)));
            }
            else
            {
                probeColumns = $"_row_key BINARY({shape.RowKeyBytes}) NOT NULL";
                match = "t._row_key = p._row_key";
                probeFields.Add(new LoadField("_row_key", FieldSource.RowKey, 0));
            }

            await db.ExecuteAsync($"CREATE TEMPORARY TABLE {probe} (n INT NOT NULL PRIMARY KEY, {probeColumns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci", transaction, ct);
            await loader.LoadAsync(probe, probeFields, rows, rendered, null, ignore: false, transaction, ct);
            await FindAsync(probe, match, rows, rendered, transaction, ct);

            long inserted = 0;
            if (fresh.Count > 0)
            {
                (inserted, var warnings) = await loader.LoadAsync(table.Name, fields, fresh, rendered, null, ignore: true, transaction, ct);
                if (inserted != fresh.Count)
                {
                    throw await loader.RefusedAsync($"the database refused {fresh.Count - inserted} of {fresh.Count} new rows", transaction, ct);
                }

                await loader.FailOnWarningsAsync(warnings, transaction, ct);
            }

            if (changed.Count > 0) await UpdateChangedAsync(stage, batch, rendered, fields, transaction, ct);
            await transaction.CommitAsync(ct);
            loader.StraightIn = found.Count == 0;
            await DropScratchAsync(probe, stage);
            return new BatchResult(inserted, changed.Count);
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

    /// <summary>Sorts the batch's rows into new ones and changed ones (with the stored row's id) by what the probe found.</summary>
    private async Task FindAsync(string probe, string match, List<int> rows, BatchRendering rendered, MySqlTransaction transaction, CancellationToken ct)
    {
        found.Clear();
        fresh.Clear();
        changed.Clear();
        if (ids.Length < rendered.Count) ids = new long[rendered.Count];
        var stored = new byte[32];
        await using (var command = new MySqlCommand($"SELECT p.n, t.id, t._row_hash FROM {probe} p JOIN {table.Quoted} t ON {match}", db.Connection, transaction) { CommandTimeout = 0 })
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var length = (int)reader.GetBytes(2, 0, stored, 0, stored.Length);
                Array.Clear(stored, length, stored.Length - length);
                found.TryAdd(reader.GetInt32(0), (reader.GetInt64(1), new UInt128(BitConverter.ToUInt64(stored, 0), BitConverter.ToUInt64(stored, 8))));
            }
        }

        foreach (var row in rows)
        {
            if (!found.TryGetValue(row, out var existing)) fresh.Add(row);
            else if (rendered.HashId(row) != existing.Hash)
            {
                changed.Add(row);
                ids[row] = existing.Id;
            }
        }
    }

    private async Task UpdateChangedAsync(string stage, RowBatch batch, BatchRendering rendered, List<LoadField> fields, MySqlTransaction transaction, CancellationToken ct)
    {
        var valueColumns = fields.Where(f => f.Source == FieldSource.Cell).ToList();
        var definitions = valueColumns.Select(f => $"{f.Column} {shape.Columns[batch.Columns[f.Index]].Type.SqlType} NULL");
        await db.ExecuteAsync($"CREATE TEMPORARY TABLE {stage} (id BIGINT NOT NULL PRIMARY KEY, {string.Join(", ", definitions)}, _row_hash BINARY({shape.RowHashBytes}) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci", transaction, ct);
        var (_, warnings) = await loader.LoadAsync(stage, [new("id", FieldSource.Id, 0), .. valueColumns, new("_row_hash", FieldSource.RowHash, 0)], changed, rendered, ids, ignore: false, transaction, ct);
        await loader.FailOnWarningsAsync(warnings, transaction, ct);
        var assignments = valueColumns.Select(f => $"t.{f.Column} = s.{f.Column}").Append("t._row_hash = s._row_hash")
            .Append("t._execution_id = @executionId").Append("t._collected_at = @now");
        await db.Connection.ExecuteAsync(new CommandDefinition($"UPDATE {table.Quoted} t JOIN {stage} s ON t.id = s.id SET {string.Join(", ", assignments)}",
            new { executionId = table.ExecutionId, now = time.GetUtcNow().UtcDateTime }, transaction, commandTimeout: 0, cancellationToken: ct));
    }

    private Task DropScratchAsync(string probe, string stage) =>
        db.Connection.ExecuteAsync(new CommandDefinition($"DROP TEMPORARY TABLE IF EXISTS {probe}, {stage}", cancellationToken: CancellationToken.None));
}
