namespace AkshareWeb.Features.Collection;

/// <summary>The table's columns at one moment, as the reading side renders batches against them; a new instance after
/// every change (see <see cref="TableShape.Publish"/>).</summary>
internal sealed record PublishedShape(IReadOnlyDictionary<string, (string Sql, ColumnType Type)> Columns, bool NaturalKey, int RowHashBytes);
