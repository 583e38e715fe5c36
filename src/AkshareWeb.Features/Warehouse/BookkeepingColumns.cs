namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// The columns every warehouse table has beside the collected ones. <c>_row_key</c> and <c>_row_hash</c> are the
/// engine's bytes for telling rows apart and changed rows from unchanged ones, of no use to a reader.
/// </summary>
public static class BookkeepingColumns
{
    public const string Id = "id";
    public const string ExecutionId = "_execution_id";
    public const string CollectedAt = "_collected_at";
    public const string RowKey = "_row_key";
    public const string RowHash = "_row_hash";

    public static readonly string[] All = [Id, ExecutionId, CollectedAt, RowKey, RowHash];

    /// <summary>Not shown to readers; every other column is.</summary>
    public static readonly string[] Hidden = [RowKey, RowHash];

    public static bool IsBookkeeping(string sqlName) => All.Contains(sqlName, StringComparer.Ordinal);
}
