using System.Text.Json;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Interfaces;

namespace AkshareWeb.Features.Scripts;

/// <summary>
/// Whether each data script can still run with the catalogue as the last registry import left it: a script whose
/// interface that registry dropped, or that passes a parameter the registry no longer lists for its function, is
/// broken, with the reason on its row (data_scripts.broken_reason). Its runs then fail with that reason instead of
/// an answer from AKTools that names no cause. Checked after every registry import and every scan; a check that
/// finds a script fine again clears the reason.
/// </summary>
public static class ScriptHealth
{
    public static async Task CheckAsync(MySqlConnection connection, CancellationToken ct)
    {
        var rows = (await connection.QueryAsync<(string ScriptId, string Definition, string? Broken, string InterfaceName)>(new CommandDefinition(
            "SELECT script_id, CAST(definition AS CHAR), broken_reason, interface_name FROM data_scripts WHERE file_missing = 0", cancellationToken: ct)))
            .AsList();
        // What the registry said of the scripts' interfaces: the catalogue's to tell (Interfaces owns the table).
        var registry = await InterfaceCatalog.RegistryStatesAsync(connection, rows.Select(r => r.InterfaceName).Distinct(StringComparer.Ordinal).ToList(), ct);
        foreach (var row in rows)
        {
            var state = registry.GetValueOrDefault(row.InterfaceName);
            var reason = Reason(DataScriptLibrary.Deserialize(row.Definition), state?.DroppedBy, state?.RegistryParams);
            if (reason == row.Broken) continue;
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE data_scripts SET broken_reason = @reason WHERE script_id = @id", new { reason, id = row.ScriptId }, cancellationToken: ct));
        }
    }

    /// <summary>Null when the script can run. <paramref name="droppedBy"/> names the registry that stopped listing the
    /// interface; <paramref name="registryParams"/> are the parameters it lists (null or empty: it lists none, and
    /// then nothing can be concluded about the script's).</summary>
    public static string? Reason(DataScriptDefinition script, string? droppedBy, IReadOnlyList<string>? registryParams)
    {
        if (droppedBy is not null) return $"{droppedBy} has no interface {script.Interface}";
        if (registryParams is not { Count: > 0 }) return null;
        var gone = script.Parameters.FirstOrDefault(p => !registryParams.Contains(p.Name, StringComparer.Ordinal));
        return gone is null ? null : $"interface {script.Interface} no longer takes parameter {gone.Name}";
    }

    /// <summary>The reason a registered script is broken, or null (also for an unknown script).</summary>
    public static Task<string?> BrokenReasonAsync(MySqlConnection connection, string scriptId, CancellationToken ct) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT broken_reason FROM data_scripts WHERE script_id = @scriptId", new { scriptId }, cancellationToken: ct));
}

/// <summary>
/// Data scripts' health as the other areas ask for it: checked after every registry import (Interfaces tells,
/// <see cref="ICatalogImportWatcher"/>), and read by a run as it starts (Executions asks, <see cref="IScriptHealth"/>).
/// </summary>
public sealed class ScriptHealthChecks(Database database) : ICatalogImportWatcher, IScriptHealth
{
    public Task CatalogImportedAsync(MySqlConnection connection, CancellationToken ct) => ScriptHealth.CheckAsync(connection, ct);

    public async Task<string?> BrokenReasonAsync(string scriptId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await ScriptHealth.BrokenReasonAsync(connection, scriptId, ct);
    }
}
