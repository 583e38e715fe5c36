namespace AkshareWeb.Features.Collection;

/// <summary>Configuration section <c>Collection</c>.</summary>
public sealed class CollectionOptions
{
    public const string Section = "Collection";

    /// <summary>Load batches with LOAD DATA LOCAL INFILE (MySqlBulkLoader). Off, or refused by the server, batches
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
