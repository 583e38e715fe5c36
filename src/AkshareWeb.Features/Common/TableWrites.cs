namespace AkshareWeb.Features.Common;

/// <summary>
/// Where the engine says that a run has written a table (its rows and its indexes are in), for whatever keeps
/// figures derived from the table: they are out of date from now on.
/// </summary>
public sealed class TableWrites
{
    public event Action<string>? Written;

    public void Announce(string table) => Written?.Invoke(table);
}
