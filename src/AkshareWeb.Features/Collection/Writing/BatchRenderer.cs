using System.Collections.Concurrent;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// Renders batches for loading: every value as the text MySQL reads for its column's type, each row's hashes, the
/// rows to write (the last of those that share a key) and, while batches go straight in, the load text itself. A
/// batch is rendered ahead of its turn on the reading side, against the columns published then; when it turns out to
/// need new or wider columns, the write renders it again after changing the table. Its buffers come back for the
/// batches to come, so three batches' buffers serve a whole run.
/// </summary>
internal sealed class BatchRenderer(FilledTable table, TableShape shape, RowLoader loader)
{
    // Given back by Recycle; taken from the reading and the writing side.
    private readonly ConcurrentBag<BatchRendering> renderings = [];
    private readonly ConcurrentBag<ByteBuffer> texts = [];

    /// <summary>Renders the batch now when the table's columns as published fit it; else leaves it to the write.</summary>
    public PreparedBatch Prepare(RowBatch batch)
    {
        var prepared = new PreparedBatch(batch);
        var current = shape.Published;
        if (current is null || batch.Count == 0) return prepared;
        for (var i = 0; i < batch.Columns.Count; i++)
        {
            if (!current.Columns.TryGetValue(batch.Columns[i], out var column)) return prepared;
            if (batch.Types[i] is { } seen && column.Type.Widen(seen).SqlType != column.Type.SqlType) return prepared;
        }

        if (table.KeyColumns.Any(k => batch.IndexOf(k) < 0)) return prepared;
        Fill(prepared, current);
        return prepared;
    }

    /// <summary>Gives a written batch's buffers back for the batches to come; returns its rows for reuse.</summary>
    public RowBatch Recycle(PreparedBatch prepared)
    {
        if (prepared.Rendering is { } rendering) renderings.Add(rendering);
        if (prepared.Load is { } text) texts.Add(text);
        (prepared.Rendering, prepared.Load, prepared.Rows, prepared.Fields, prepared.Shape) = (null, null, null, null, null);
        return prepared.Batch;
    }

    /// <summary>Renders the batch for a shape: values, hashes, the rows to write and, for the straight way in, the load text.</summary>
    public void Fill(PreparedBatch prepared, PublishedShape current)
    {
        var batch = prepared.Batch;
        var rendering = Render(prepared, current);
        var rows = rendering.LastOfEachKey();
        var fields = batch.Columns.Select((name, i) => new LoadField(ColumnNames.Quote(current.Columns[name].Sql), FieldSource.Cell, i)).ToList();
        fields.Add(new LoadField("_row_hash", FieldSource.RowHash, 0));
        if (!current.NaturalKey) fields.Add(new LoadField("_row_key", FieldSource.RowKey, 0));
        ByteBuffer? load = null;
        if (loader.UseBulk && loader.StraightIn)
        {
            load = prepared.Load ?? (texts.TryTake(out var spare) ? spare : new ByteBuffer(1 << 16));
            load.Clear();
            rendering.WriteTabSeparated(load, fields, rows, null, current.RowHashBytes);
        }

        (prepared.Shape, prepared.Rendering, prepared.Rows, prepared.Fields, prepared.Load) = (current, rendering, rows, fields, load);
    }

    /// <summary>
    /// Every value as the text MySQL reads for its column's type, and each row's hash and key. The hash covers
    /// the non-null values by column name, so a column that appears later (null in old rows) leaves old rows'
    /// hashes alone.
    /// </summary>
    private BatchRendering Render(PreparedBatch prepared, PublishedShape current)
    {
        var batch = prepared.Batch;
        var kinds = batch.Columns.Select(c => current.Columns[c].Type.Kind).ToArray();
        var byName = Enumerable.Range(0, batch.Columns.Count).OrderBy(i => batch.Columns[i], StringComparer.Ordinal).ToArray();
        var keyIndexes = table.KeyColumns.Select(batch.IndexOf).ToArray();
        var rendering = prepared.Rendering ?? (renderings.TryTake(out var spare) ? spare : new BatchRendering());
        rendering.Reset(batch.Count, batch.Columns.Count, batch.ArenaBytes + batch.Count * 8);
        var input = new ByteBuffer(1024);
        for (var row = 0; row < batch.Count; row++)
        {
            for (var c = 0; c < kinds.Length; c++)
            {
                if (batch.TryGet(row, c, out var value, out var kind)) rendering.SetCell(row, c, value, kind, kinds[c]);
                else rendering.SetNull(row, c);
            }

            input.Clear();
            foreach (var c in byName) rendering.AppendHashInput(row, c, batch.Utf8Names[c], input);
            var hash = rendering.HashSlot(row);
            System.IO.Hashing.XxHash128.Hash(input.Written, hash);
            if (keyIndexes.Length == 0)
            {
                hash.CopyTo(rendering.KeySlot(row));
            }
            else
            {
                input.Clear();
                foreach (var c in keyIndexes) rendering.AppendHashInput(row, c, batch.Utf8Names[c], input, nullMarker: true);
                System.IO.Hashing.XxHash128.Hash(input.Written, rendering.KeySlot(row));
                if (current.NaturalKey) rendering.NoteKeyNulls(row, keyIndexes);
            }
        }

        return rendering;
    }
}
