using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        /// <summary>
        /// Renders a batch ahead of its turn (on the reading side, while the batch before it is being written),
        /// against the table's columns as they are now. When the batch turns out to need new or wider columns,
        /// <see cref="WriteAsync"/> renders it again after changing the table.
        /// </summary>
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

            if (target.KeyColumns.Any(k => IndexOf(batch, k) < 0)) return prepared;
            Fill(prepared, current);
            return prepared;
        }

        /// <summary>Gives a written batch's buffers back for the batches to come; returns its rows for reuse.</summary>
        public RowBatch Recycle(PreparedBatch prepared)
        {
            if (prepared.Rendered is { } rendered) buffers.Renderings.Add(rendered);
            if (prepared.Load is { } text) buffers.Texts.Add(text);
            (prepared.Rendered, prepared.Load, prepared.Rows, prepared.Fields, prepared.Schema) = (null, null, null, null, null);
            return prepared.Batch;
        }

        /// <summary>Renders the batch for a schema: values, hashes, the rows to write and, for the straight way in, the load text.</summary>
        private void Fill(PreparedBatch prepared, Schema current)
        {
            var batch = prepared.Batch;
            var rendered = Render(prepared, current);
            var rows = rendered.LastOfEachKey();
            var fields = batch.Columns.Select((name, i) => new Field(ColumnNames.Quote(current.Columns[name].Sql), Source.Cell, i)).ToList();
            fields.Add(new Field("_row_hash", Source.RowHash, 0));
            if (!current.NaturalKey) fields.Add(new Field("_row_key", Source.RowKey, 0));
            ByteBuffer? load = null;
            if (path.UseBulk && path.StraightIn)
            {
                load = prepared.Load ?? (buffers.Texts.TryTake(out var spare) ? spare : new ByteBuffer(1 << 16));
                load.Clear();
                rendered.WriteTabSeparated(load, Parts(fields), rows, null, current.RowHashBytes);
            }

            (prepared.Schema, prepared.Rendered, prepared.Rows, prepared.Fields, prepared.Load) = (current, rendered, rows, fields, load);
        }

        private static (Rendered.Part, int)[] Parts(IReadOnlyList<Field> fields) => fields.Select(f => (f.Source switch
        {
            Source.Cell => Rendered.Part.Cell,
            Source.RowHash => Rendered.Part.Hash,
            Source.RowKey => Rendered.Part.Key,
            Source.Ordinal => Rendered.Part.Ordinal,
            _ => Rendered.Part.Id,
        }, f.Index)).ToArray();
        /// <summary>
        /// Every value as the text MySQL reads for its column's type, and each row's hash and key. The hash covers
        /// the non-null values by column name, so a column that appears later (null in old rows) leaves old rows'
        /// hashes alone.
        /// </summary>
        private Rendered Render(PreparedBatch prepared, Schema current)
        {
            var batch = prepared.Batch;
            var kinds = batch.Columns.Select(c => current.Columns[c].Type.Kind).ToArray();
            var byName = Enumerable.Range(0, batch.Columns.Count).OrderBy(i => batch.Columns[i], StringComparer.Ordinal).ToArray();
            var keyIndexes = target.KeyColumns.Select(k => IndexOf(batch, k)).ToArray();
            var rendered = prepared.Rendered ?? (buffers.Renderings.TryTake(out var spare) ? spare : new Rendered());
            rendered.Reset(batch.Count, batch.Columns.Count, batch.ArenaBytes + batch.Count * 8);
            var input = new ByteBuffer(1024);
            for (var row = 0; row < batch.Count; row++)
            {
                for (var c = 0; c < kinds.Length; c++)
                {
                    if (batch.TryGet(row, c, out var value, out var kind)) rendered.SetCell(row, c, value, kind, kinds[c]);
                    else rendered.SetNull(row, c);
                }

                input.Clear();
                foreach (var c in byName) rendered.AppendHashInput(row, c, batch.Utf8Names[c], input);
                var hash = rendered.HashSlot(row);
                System.IO.Hashing.XxHash128.Hash(input.Written, hash);
                if (keyIndexes.Length == 0)
                {
                    hash.CopyTo(rendered.KeySlot(row));
                }
                else
                {
                    input.Clear();
                    foreach (var c in keyIndexes) rendered.AppendHashInput(row, c, batch.Utf8Names[c], input, nullMarker: true);
                    System.IO.Hashing.XxHash128.Hash(input.Written, rendered.KeySlot(row));
                    if (current.NaturalKey) rendered.NoteKeyNulls(row, keyIndexes);
                }
            }

            return rendered;
        }

        internal enum Source { Cell, RowHash, RowKey, Ordinal, Id }

        internal sealed record Field(string Column, Source Source, int Index);
    }
}
