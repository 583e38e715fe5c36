namespace AkshareWeb.Features.Collection;

/// <summary>What one batch did to the table.</summary>
public readonly record struct BatchResult(long Inserted, long Updated);
