using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Interfaces;

namespace AkshareWeb.Features.Scripts;

/// <summary>At start-up: import the configured registry, or the bundled snapshot of AKShare's when none is configured
/// (skipped when the catalogue already holds that snapshot), then scan the data scripts, which also checks them
/// against the catalogue. A bad registry or folder is logged, not fatal: the service still serves what it has.</summary>
public sealed class CatalogStartup(InterfaceCatalog catalog, DataScriptLibrary library, IOptions<CatalogOptions> options, ILogger<CatalogStartup> logger)
{
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            var configured = !string.IsNullOrWhiteSpace(options.Value.RegistryPath) || !string.IsNullOrWhiteSpace(options.Value.RegistryUrl);
            var sync = configured ? await catalog.SyncAsync(ct) : await catalog.ImportSnapshotIfNewAsync(ct);
            if (sync is not null)
            {
                logger.LogInformation("Imported {Total} interfaces from {Source}: {Added} added, {Updated} updated, {Removed} removed", sync.Total, sync.Source, sync.Added, sync.Updated, sync.Removed);
            }
        }
        catch (ApiError e)
        {
            logger.LogWarning("Could not import the interface registry: {Message} {Detail}", e.Message, e.Detail);
        }

        try
        {
            var scan = await library.ScanAsync(ct);
            logger.LogInformation("Scanned {Scanned} data scripts in {Folder}: {Registered} registered, {Updated} updated, {Deactivated} deactivated, {Errors} with errors",
                scan.Scanned, library.Folder, scan.Registered, scan.Updated, scan.Deactivated, scan.Errors.Count);
            foreach (var error in scan.Errors) logger.LogWarning("Data script {File}: {Error}", error.File, error.Error);
        }
        catch (ApiError e)
        {
            logger.LogWarning("Could not scan the data scripts: {Message}", e.Message);
        }
        catch (MySqlConnector.MySqlException e)
        {
            // The service still starts; POST /api/scripts/scan can be run again.
            logger.LogWarning(e, "Could not register the data scripts");
        }
    }
}
