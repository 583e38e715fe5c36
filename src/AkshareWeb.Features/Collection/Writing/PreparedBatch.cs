namespace AkshareWeb.Features.Collection;

/// <summary>A batch with its rendering, made ahead of its turn (see <see cref="TableWrite.Prepare"/>).</summary>
public sealed class PreparedBatch(RowBatch batch)
{
    public RowBatch Batch { get; } = batch;

    /// <summary>The columns it was rendered against; null while not rendered.</summary>
    internal PublishedShape? Shape { get; set; }

    internal BatchRendering? Rendering { get; set; }

    /// <summary>The batch's rows to write: the last of those that share a key.</summary>
    internal List<int>? Rows { get; set; }

    internal List<LoadField>? Fields { get; set; }

    /// <summary>The load text, rendered ahead for the straight way in.</summary>
    internal ByteBuffer? Load { get; set; }
}
