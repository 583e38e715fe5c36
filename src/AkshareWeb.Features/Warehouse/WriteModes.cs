namespace AkshareWeb.Features.Warehouse;

/// <summary>How a run writes its rows into its table: upserted on the natural key, appended (a row hash keeps a row
/// from being added twice), or replacing the whole table.</summary>
public static class WriteModes
{
    public const string Upsert = "upsert";
    public const string Append = "append";
    public const string Replace = "replace";
    public static readonly string[] All = [Upsert, Append, Replace];
}
