namespace AkshareWeb.Features.Parameters;

/// <summary>A run's sources make more parts than Parts:MaxParts allows (a table grew since the request was checked).</summary>
public sealed class TooManyPartsException(string message) : InvalidOperationException(message);
