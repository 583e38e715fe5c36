using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Interfaces;

/// <summary>What one data script tells the catalogue about the interface it calls: the catalogue keeps such an
/// interface even when AKShare's registry drops it, and takes the script's parameter definitions over the registry's.
/// The Scripts area builds these from its definitions, so the catalogue needs to know nothing of data scripts.</summary>
public sealed record ScriptedInterface(string Name, string ScriptName, string Category, string? Description, IReadOnlyList<ParameterDefinition> Parameters);

/// <summary>
/// Told after every registry import, still under the import's lock and on its connection, so what depends on the
/// catalogue is checked against it before anything else sees the new one (the data scripts' health: a script whose
/// interface or parameter the registry dropped is marked broken). Registered by the area that depends on the catalogue.
/// </summary>
public interface ICatalogImportWatcher
{
    Task CatalogImportedAsync(MySqlConnection connection, CancellationToken ct);
}
