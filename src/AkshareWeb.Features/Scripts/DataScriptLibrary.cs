using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Interfaces;

namespace AkshareWeb.Features.Scripts;

/// <summary>Configuration section <c>DataScripts</c>.</summary>
public sealed class DataScriptsOptions
{
    public const string Section = "DataScripts";

    /// <summary>The data-scripts folder; empty: the one at the content root or the nearest above it.</summary>
    public string? Path { get; set; }
}

public sealed record ScanError(string File, string Error);

public sealed record ScanReport(int Scanned, int Registered, int Updated, int Deactivated, int Unchanged, IReadOnlyList<ScanError> Errors);

/// <summary>
/// The data scripts: the files under data-scripts/&lt;category&gt;/&lt;frequency&gt;/&lt;id&gt;.json, registered in the
/// database. A scan registers new files, updates changed ones, deactivates scripts whose file is gone, and
/// reports a malformed file without stopping (the script it defined keeps its last good definition).
/// </summary>
public sealed class DataScriptLibrary(Database database, InterfaceCatalog catalog, IOptions<DataScriptsOptions> options, IHostEnvironment host, TimeProvider time)
{
    public string Folder => ResolveFolder();

    public async Task<ScanReport> ScanAsync(CancellationToken ct)
    {
        var folder = Folder;
        if (!Directory.Exists(folder))
        {
            throw ApiError.BadFormat($"the data-scripts folder {folder} does not exist; set DataScripts:Path");
        }

        var errors = new List<ScanError>();
        var found = new List<(DataScriptDefinition Script, string File, string Hash)>();
        var files = Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
            var parts = relative.Split('/');
            if (parts.Length != 3)
            {
                errors.Add(new ScanError(relative, "a data script lives at <category>/<frequency>/<script_id>.json"));
                continue;
            }

            var bytes = await File.ReadAllBytesAsync(file, ct);
            var (script, problems) = DataScriptFiles.Parse(System.Text.Encoding.UTF8.GetString(bytes), parts[0], parts[1], Path.GetFileNameWithoutExtension(parts[2]));
            if (script is null)
            {
                errors.Add(new ScanError(relative, string.Join("; ", problems)));
                continue;
            }

            if (found.Any(f => f.Script.Id == script.Id))
            {
                errors.Add(new ScanError(relative, $"script id {script.Id} is already defined by {found.First(f => f.Script.Id == script.Id).File}"));
                continue;
            }

            found.Add((script, relative, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        }

        int registered = 0, updated = 0, unchanged = 0, deactivated;
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        // Two instances starting at once would otherwise both register the same new files.
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT GET_LOCK(@name, 60)", new { name = InterfaceCatalog.LockName(connection.Database) }, cancellationToken: ct));
        try
        {
            var known = (await connection.QueryAsync<(string ScriptId, string Hash, bool Missing)>(new CommandDefinition(
                "SELECT script_id, content_hash, file_missing FROM data_scripts", cancellationToken: ct))).ToDictionary(k => k.ScriptId);
            foreach (var (script, file, hash) in found)
            {
                var args = new
                {
                    script.Id, script.Name, script.Description, script.Category, script.Frequency, script.Interface, script.TargetTable,
                    definition = JsonSerializer.Serialize(script, DataScriptFiles.Json), file, hash, now,
                };
                if (!known.TryGetValue(script.Id, out var existing))
                {
                    await connection.ExecuteAsync(new CommandDefinition("""
                        INSERT INTO data_scripts (script_id, name, description, category, frequency, interface_name, target_table, definition,
                          file_path, content_hash, is_active, file_missing, created_at, updated_at)
                        VALUES (@Id, @Name, @Description, @Category, @Frequency, @Interface, @TargetTable, @definition, @file, @hash, 1, 0, @now, @now)
                        """, args, cancellationToken: ct));
                    registered++;
                }
                else if (existing.Hash != hash || existing.Missing)
                {
                    // A file that came back is active again; a changed one keeps the admin's on/off choice.
                    await connection.ExecuteAsync(new CommandDefinition("""
                        UPDATE data_scripts SET name = @Name, description = @Description, category = @Category, frequency = @Frequency,
                          interface_name = @Interface, target_table = @TargetTable, definition = @definition, file_path = @file,
                          content_hash = @hash, is_active = IF(file_missing = 1, 1, is_active), file_missing = 0, updated_at = @now
                        WHERE script_id = @Id
                        """, args, cancellationToken: ct));
                    updated++;
                }
                else
                {
                    unchanged++;
                }
            }

            var present = found.Select(f => f.Script.Id).ToArray();
            deactivated = await connection.ExecuteAsync(new CommandDefinition(
                present.Length == 0
                    ? "UPDATE data_scripts SET is_active = 0, file_missing = 1, updated_at = @now WHERE file_missing = 0"
                    : "UPDATE data_scripts SET is_active = 0, file_missing = 1, updated_at = @now WHERE file_missing = 0 AND script_id NOT IN @present",
                new { now, present }, cancellationToken: ct));

            // Under the same lock: two instances merging the same new interfaces at once would deadlock.
            await catalog.MergeScriptInterfacesAsync(
                found.Select(f => new ScriptedInterface(f.Script.Interface, f.Script.Name, f.Script.Category, f.Script.Description, f.Script.Parameters)).ToList(), ct);
            await ScriptHealth.CheckAsync(connection, ct);
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name = InterfaceCatalog.LockName(connection.Database) }, cancellationToken: CancellationToken.None));
        }

        return new ScanReport(files.Count, registered, updated, deactivated, unchanged, errors);
    }

    /// <summary>The registered script with its definition, active or not; null when unknown.</summary>
    public async Task<(DataScriptDefinition Script, bool IsActive)?> FindAsync(string scriptId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string Definition, bool IsActive)?>(new CommandDefinition(
            "SELECT CAST(definition AS CHAR), is_active FROM data_scripts WHERE script_id = @scriptId", new { scriptId }, cancellationToken: ct));
        return row is { } r ? (Deserialize(r.Definition), r.IsActive) : null;
    }

    /// <summary>Whether the script is registered and active.</summary>
    public async Task<bool> IsActiveAsync(string scriptId, CancellationToken ct) => (await FindAsync(scriptId, ct))?.IsActive == true;

    /// <summary>The script that fills <paramref name="table"/> from <paramref name="interfaceName"/> (an active one
    /// first); null when no script does.</summary>
    public async Task<DataScriptDefinition?> FindFillingAsync(string table, string interfaceName, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var definition = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT CAST(definition AS CHAR) FROM data_scripts WHERE target_table = @table AND interface_name = @interfaceName ORDER BY is_active DESC, id LIMIT 1",
            new { table, interfaceName }, cancellationToken: ct));
        return definition is null ? null : Deserialize(definition);
    }

    /// <summary>How the prices of <paramref name="table"/> are adjusted, as the script that fills it declares (an
    /// active script first); null when no script of the table declares it.</summary>
    public async Task<PriceAdjustment?> AdjustmentOfAsync(string table, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var definitions = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT CAST(definition AS CHAR) FROM data_scripts WHERE target_table = @table ORDER BY is_active DESC, id",
            new { table }, cancellationToken: ct));
        return definitions.Select(d => Deserialize(d).Adjustment).FirstOrDefault(a => a is not null);
    }

    public static DataScriptDefinition Deserialize(string json) =>
        JsonSerializer.Deserialize<DataScriptDefinition>(json, DataScriptFiles.Json) ?? throw new InvalidOperationException("empty script definition");

    private string ResolveFolder()
    {
        if (!string.IsNullOrWhiteSpace(options.Value.Path)) return Path.GetFullPath(options.Value.Path);
        for (var directory = new DirectoryInfo(host.ContentRootPath); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "data-scripts");
            if (Directory.Exists(candidate)) return candidate;
        }

        return Path.Combine(host.ContentRootPath, "data-scripts");
    }
}
