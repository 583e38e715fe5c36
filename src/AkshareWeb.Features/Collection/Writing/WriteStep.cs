namespace AkshareWeb.Features.Collection;

/// <summary>A step of a table write, for a test's <see cref="WarehouseWriter.Checkpoint"/>: <see cref="Lock"/> before
/// the write waits for a table's lock, <see cref="KeyIndex"/> under the lock before it looks for its key's index.</summary>
internal sealed record WriteStep(string Table, string ExecutionId, string Step)
{
    public const string Lock = "lock";
    public const string KeyIndex = "key-index";
}
