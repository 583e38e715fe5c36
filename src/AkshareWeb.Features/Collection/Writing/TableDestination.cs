namespace AkshareWeb.Features.Collection;

/// <summary>
/// Where a write goes and how: the warehouse table, the write mode, the natural key of an upsert, and the
/// comment a new table is created with (what the table holds, in the user's words).
/// </summary>
public sealed record TableDestination(string Table, string WriteMode, IReadOnlyList<string> KeyColumns, string Comment);
