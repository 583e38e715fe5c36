using System.Text.Json;
using Dapper;
using MySqlConnector;
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
        var rows = await connection.QueryAsync<(string ScriptId, string Definition, string? Broken, string? DroppedBy, string? RegistryParams)>(new CommandDefinition("""
            SELECT s.script_id, CAST(s.definition AS CHAR), s.broken_reason, i.dropped_by, CAST(i.registry_params AS CHAR)
            FROM data_scripts s LEFT JOIN interfaces i ON i.name = s.interface_name
            WHERE s.file_missing = 0
            """, cancellationToken: ct));
        foreach (var row in rows)
        {
            var script = DataScriptLibrary.Deserialize(row.Definition);
            var listed = row.RegistryParams is null ? null : JsonSerializer.Deserialize<List<string>>(row.RegistryParams);
            var reason = Reason(script, row.DroppedBy, listed);
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

/// <summary>Checks the scripts after every registry import (see <see cref="ICatalogImportWatcher"/>).</summary>
public sealed class ScriptHealthWatcher : ICatalogImportWatcher
{
    public Task CatalogImportedAsync(MySqlConnection connection, CancellationToken ct) => ScriptHealth.CheckAsync(connection, ct);
}
