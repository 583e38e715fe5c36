namespace AkshareWeb.Features.Common;

/// <summary>
/// Where the engine says that a table changed, for whatever keeps figures derived from the table: they are out of
/// date from now on. <see cref="Changed"/> comes first, as soon as a run's writes and columns are in (before its
/// record says it ended), for what is cheap to forget (a table's shape); <see cref="Written"/> once its rows and
/// indexes are all in, for what is worth computing again (counts, page positions).
/// </summary>
public sealed class TableWrites
{
    public event Action<string>? Written;

    public event Action<string>? Shaped;

    /// <summary>The table's columns or indexes may have changed.</summary>
    public void Changed(string table) => Shaped?.Invoke(table);

    /// <summary>A run (or an index build) is done with the table.</summary>
    public void Announce(string table)
    {
        Shaped?.Invoke(table);
        Written?.Invoke(table);
    }
}
