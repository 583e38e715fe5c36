namespace AkshareWeb.Features.Collection;

/// <summary>Where a loaded column's values come from: a cell of the batch, the row's value or key hash, the row's
/// position in the batch (a probe's ordinal), or the id of the stored row it changes.</summary>
internal enum FieldSource { Cell, RowHash, RowKey, Ordinal, Id }

/// <summary>One column a load fills: its quoted SQL name, where its values come from and, for a cell, the batch's column.</summary>
internal sealed record LoadField(string Column, FieldSource Source, int Index);
