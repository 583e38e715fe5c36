namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// Where the engine says that a table changed, for whatever keeps figures derived from the table: they are out of
/// date from now on. <see cref="ShapeChanged"/> comes first, as soon as a run's writes and columns are in (before
/// its record says it ended), for what is cheap to forget (a table's columns and indexes); <see cref="RowsChanged"/>
/// once its rows and indexes are all in, for what is worth computing again (counts, page positions).
/// </summary>
public sealed class TableChanges
{
    /// <summary>The table's columns or indexes may have changed.</summary>
    public event Action<string>? ShapeChanged;

    /// <summary>A run (or an index build) is done with the table: its rows, columns and indexes may all have changed.</summary>
    public event Action<string>? RowsChanged;

    /// <summary>A run of the engine is done with the table it wrote: the table and the run's execution id, which its
    /// rows carry in _execution_id (for checks of the rows it wrote).</summary>
    public event Action<string, string>? RunWrote;

    public void NotifyShapeChanged(string table) => ShapeChanged?.Invoke(table);

    /// <summary>The table's rows changed; <paramref name="executionId"/> names the run that changed them, when one did.</summary>
    public void NotifyRowsChanged(string table, string? executionId = null)
    {
        ShapeChanged?.Invoke(table);
        RowsChanged?.Invoke(table);
        if (executionId is not null) RunWrote?.Invoke(table, executionId);
    }
}
