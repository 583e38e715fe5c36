namespace AkshareWeb.Features.Collection;

/// <summary>Configuration section <c>Collection</c>.</summary>
public sealed class CollectionOptions
{
    public const string Section = "Collection";

    /// <summary>Load batches with LOAD DATA LOCAL INFILE (MySqlBulkLoader). Off, or refused by the server, batches
    /// go in as multi-row INSERTs: slower, same result.</summary>
    public bool UseBulkLoad { get; set; } = true;
}
