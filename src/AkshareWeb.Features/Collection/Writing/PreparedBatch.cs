namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    /// <summary>A batch with its rendering, made ahead of its turn (see <see cref="TableWrite.Prepare"/>).</summary>
    public sealed class PreparedBatch(RowBatch batch)
    {
        public RowBatch Batch { get; } = batch;
        internal TableWrite.Schema? Schema { get; set; }
        internal Rendered? Rendered { get; set; }
        internal List<int>? Rows { get; set; }
        internal List<TableWrite.Field>? Fields { get; set; }
        internal ByteBuffer? Load { get; set; }
    }
}
