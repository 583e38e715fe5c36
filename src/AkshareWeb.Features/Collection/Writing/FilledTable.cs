using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// What one write fills, fixed for its whole life: its destination, the execution whose rows these are, the table the
/// rows go into (the destination itself, or in replace mode a fresh table swapped in at the end, so readers never see
/// a half table), the natural key (upsert mode only), and whether several writes of the one run go on at once (a
/// parted run on two instances).
/// </summary>
internal sealed record FilledTable(TableDestination Destination, string ExecutionId, string Name, IReadOnlyList<string> KeyColumns, bool Shared)
{
    public static FilledTable Of(TableDestination destination, string executionId, bool shared) => new(
        destination,
        executionId,
        destination.WriteMode == WriteModes.Replace ? destination.Table[..Math.Min(destination.Table.Length, 55)] + "__replace" : destination.Table,
        destination.WriteMode == WriteModes.Upsert ? destination.KeyColumns : [],
        shared);

    public bool Replaces => Destination.WriteMode == WriteModes.Replace;

    public string Quoted => ColumnNames.Quote(Name);
}
