using System.Text.Json;
using System.Globalization;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Interfaces;

/// <summary>Configuration section <c>Catalog</c>: where AKShare's registry (akshare/data/interfaces.json) is.</summary>
public sealed class CatalogOptions
{
    public const string Section = "Catalog";

    public string? RegistryPath { get; set; }
    public string? RegistryUrl { get; set; }
}

/// <summary>What an import did. <c>AkshareVersion</c> is null for a registry that does not name its version
/// (AKShare's own interfaces.json does not).</summary>
public sealed record SyncReport(string Source, string? AkshareVersion, int Total, int Added, int Updated, int Removed);

/// <summary>An interface as the last registry import left it: the registry that dropped it (null while listed), and
/// the parameters that registry lists for it (null: none).</summary>
public sealed record RegistryState(string? DroppedBy, IReadOnlyList<string>? RegistryParams);

/// <summary>An interface's row, and the category names shown to people.</summary>
public sealed record InterfaceRow(long Id, string Name, string DisplayName, string Category, string? Description, string? Module, string? Url,
    string? LimitDesc, bool Documented, string? Example, bool InRegistry, bool UsedByScripts);

/// <summary>
/// The catalogue of AKShare interfaces: imported from a configured copy of AKShare's own registry (name, module,
/// category, desc, url, limit_desc, params, outputs, example), or from the snapshot the service bundles when none is
/// configured (RegistrySnapshot: the same facts without the prose), and merged with the interfaces the data scripts
/// call, whose parameter definitions (required, defaults, types, formats) are more precise than the registry's.
/// </summary>
public sealed class InterfaceCatalog(
    Database database, IOptions<CatalogOptions> options, IHttpClientFactory http, TimeProvider time, IEnumerable<ICatalogImportWatcher> watchers)
{
    /// <summary>The lock a registry import and a scripts scan take: they write the same interface rows.</summary>
    public static string LockName(string database) => ServerLockName.For(database, "scripts.scan");

    /// <summary>Chinese names of the categories: the data scripts' (which the API uses for AKShare's stock, fund, index,
    /// option and bond too) and every other category of AKShare's registry under its own name.</summary>
    public static readonly IReadOnlyDictionary<string, (string DisplayName, string Description)> Categories = new Dictionary<string, (string, string)>
    {
        ["stocks"] = ("股票", "A股、港股、美股等股票行情与基本面数据"),
        ["funds"] = ("基金", "公募、私募、ETF 等基金数据"),
        ["futures"] = ("期货", "期货行情、持仓与仓单数据"),
        ["indexes"] = ("指数", "股票、债券与商品指数数据"),
        ["options"] = ("期权", "期权行情与风险指标数据"),
        ["bonds"] = ("债券", "债券行情、收益率与可转债数据"),
        ["macro"] = ("宏观", "国内外宏观经济数据"),
        ["fx"] = ("外汇", "外汇行情与汇率数据"),
        ["currency"] = ("货币", "货币与汇率数据"),
        ["interest_rate"] = ("利率", "利率数据"),
        ["energy"] = ("能源", "能源数据"),
        ["spot"] = ("现货", "现货价格数据"),
        ["bank"] = ("银行", "银行数据"),
        ["news"] = ("资讯", "新闻资讯数据"),
        ["tool"] = ("工具", "交易日历等工具数据"),
        ["cal"] = ("日历", "交易日历数据"),
        ["qdii"] = ("QDII", "QDII 数据"),
        ["others"] = ("其他", "其他数据接口"),
        ["event"] = ("事件", "事件数据"),
        ["hf"] = ("高频", "高频数据"),
        ["crypto"] = ("数字货币", "数字货币数据"),
        ["economic"] = ("经济", "经济数据"),
        ["article"] = ("文章", "研究文章数据"),
        ["movie"] = ("影视", "影视数据"),
        ["air"] = ("空气质量", "空气质量数据"),
        ["nlp"] = ("自然语言", "自然语言处理数据"),
        ["qhkc"] = ("奇货可查", "奇货可查数据"),
        ["qhkc_web"] = ("奇货可查", "奇货可查网站数据"),
        ["stock_feature"] = ("股票特色", "股票特色数据"),
        ["stock_fundamental"] = ("股票基本面", "股票基本面数据"),
        ["futures_derivative"] = ("期货衍生", "期货衍生数据"),
        ["dc"] = ("数据中心", "数据中心数据"),
        ["reits"] = ("REITs", "不动产投资信托基金数据"),
    };

    /// <summary>Which import the catalogue holds (app_settings row): the bundled snapshot by its hash, or a registry.</summary>
    private const string SourceSetting = "catalog_source";

    private bool RegistryConfigured => !string.IsNullOrWhiteSpace(options.Value.RegistryPath) || !string.IsNullOrWhiteSpace(options.Value.RegistryUrl);

    /// <summary>
    /// Imports the configured registry (Catalog:RegistryPath or RegistryUrl), or the bundled snapshot when none is
    /// configured: adds new interfaces, updates known ones, removes those it no longer lists (unless a data script
    /// uses them: those stay, marked as dropped, and the scripts on them are broken until a registry lists them again).
    /// </summary>
    public async Task<SyncReport> SyncAsync(CancellationToken ct)
    {
        var snapshot = RegistrySnapshot.Load();
        if (!RegistryConfigured)
        {
            return await ImportLockedAsync($"AKShare {snapshot.AkshareVersion} (bundled snapshot)", snapshot.AkshareVersion, "snapshot:" + snapshot.Hash,
                snapshot.Interfaces.Select(RegistryEntries.FromSnapshot).ToList(), ct);
        }

        var (source, stream) = await OpenRegistryAsync(ct);
        List<RegistryEntry> entries;
        string? version;
        await using (stream)
        {
            try
            {
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: ct);
                var root = document.RootElement;
                var list = root.ValueKind == JsonValueKind.Array ? root
                    : root.TryGetProperty("interfaces", out var inner) && inner.ValueKind == JsonValueKind.Array ? inner
                    : throw ApiError.BadFormat("the registry must be a JSON array of interfaces or an object with an \"interfaces\" array");
                // AKShare's own file names no version; our snapshot's format and hand-made copies may.
                version = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("akshare_version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                entries = list.EnumerateArray().Select(e => RegistryEntries.FromRegistry(e, snapshot)).Where(e => e is not null).Select(e => e!).ToList();
            }
            catch (JsonException e)
            {
                throw ApiError.BadFormat($"the registry at {source} is not valid JSON", e.Message);
            }
        }

        return await ImportLockedAsync(source, version, "registry:" + source, entries, ct);
    }

    /// <summary>At start-up with no registry configured: the bundled snapshot, unless the catalogue already holds this
    /// very snapshot (a restart then costs one lookup, not 1,090 rows).</summary>
    public async Task<SyncReport?> ImportSnapshotIfNewAsync(CancellationToken ct)
    {
        if (RegistryConfigured) return null;
        await using (var connection = await database.OpenAsync(ct))
        {
            var current = await SystemSettings.GetAsync(connection, SourceSetting, ct);
            if (current == "snapshot:" + RegistrySnapshot.Load().Hash) return null;
        }

        return await SyncAsync(ct);
    }

    private async Task<SyncReport> ImportLockedAsync(string source, string? version, string marker, List<RegistryEntry> entries, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        // One import at a time across instances (and never beside a scan's merge): they touch the same rows.
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT GET_LOCK(@name, 60)", new { name = InterfaceCatalog.LockName(connection.Database) }, cancellationToken: ct));
        try
        {
            var report = await ImportAsync(connection, source, version, marker, entries, ct);
            foreach (var watcher in watchers) await watcher.CatalogImportedAsync(connection, ct);
            return report;
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name = InterfaceCatalog.LockName(connection.Database) }, cancellationToken: CancellationToken.None));
        }
    }

    /// <summary>Rows in batches: a full registry is about a thousand interfaces and three thousand parameters, which
    /// one statement each would make a start-up of several seconds.</summary>
    private const int Batch = 200;

    private async Task<SyncReport> ImportAsync(MySqlConnection connection, string source, string? version, string marker, List<RegistryEntry> entries, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        entries = entries.DistinctBy(e => e.Name).ToList();
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var existing = (await connection.QueryAsync<(long Id, string Name, bool InRegistry)>(new CommandDefinition(
            "SELECT id, name, in_registry FROM interfaces FOR UPDATE", transaction: transaction, cancellationToken: ct))).ToDictionary(e => e.Name);

        foreach (var chunk in entries.Chunk(Batch))
        {
            var sql = new StringBuilder("""
                INSERT INTO interfaces (name, display_name, category, description, module, url, limit_desc, documented, example, outputs,
                  registry_params, dropped_by, in_registry, used_by_scripts, created_at, updated_at) VALUES
                """);
            var args = new DynamicParameters(new { now });
            for (var i = 0; i < chunk.Length; i++)
            {
                var e = chunk[i];
                sql.Append(i == 0 ? "\n" : ",\n").Append(CultureInfo.InvariantCulture,
                    $"(@n{i}, @dn{i}, @c{i}, @d{i}, @m{i}, @u{i}, @l{i}, @doc{i}, @ex{i}, @o{i}, @rp{i}, NULL, 1, 0, @now, @now)");
                args.Add($"n{i}", e.Name); args.Add($"dn{i}", e.DisplayName); args.Add($"c{i}", e.Category); args.Add($"d{i}", e.Description);
                args.Add($"m{i}", e.Module); args.Add($"u{i}", e.Url); args.Add($"l{i}", e.LimitDesc); args.Add($"doc{i}", e.Documented);
                args.Add($"ex{i}", e.Example); args.Add($"o{i}", e.Outputs);
                args.Add($"rp{i}", e.RegistryParams is null ? null : JsonSerializer.Serialize(e.RegistryParams));
            }

            sql.Append("""

                ON DUPLICATE KEY UPDATE display_name = VALUES(display_name), category = VALUES(category), description = VALUES(description),
                  module = VALUES(module), url = VALUES(url), limit_desc = VALUES(limit_desc), documented = VALUES(documented), example = VALUES(example),
                  outputs = VALUES(outputs), registry_params = VALUES(registry_params), dropped_by = NULL, in_registry = 1, updated_at = VALUES(updated_at)
                """);
            await connection.ExecuteAsync(new CommandDefinition(sql.ToString(), args, transaction, cancellationToken: ct));
        }

        // A script's parameter definitions are the better ones; the registry fills what no script defines.
        var ids = (await connection.QueryAsync<(long Id, string Name)>(new CommandDefinition(
            "SELECT id, name FROM interfaces WHERE in_registry = 1 AND used_by_scripts = 0", transaction: transaction, cancellationToken: ct)))
            .ToDictionary(r => r.Name, r => r.Id, StringComparer.Ordinal);
        var fill = entries.Where(e => ids.ContainsKey(e.Name)).ToList();
        foreach (var chunk in fill.Select(e => ids[e.Name]).Chunk(Batch))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM interface_parameters WHERE interface_id IN @chunk", new { chunk }, transaction, cancellationToken: ct));
        }

        foreach (var chunk in fill.SelectMany(e => e.Parameters.Select((p, position) => (Id: ids[e.Name], Position: position, Parameter: p))).Chunk(Batch))
        {
            await InsertParametersAsync(connection, transaction, chunk, ct);
        }

        var listed = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var gone = existing.Values.Where(e => e.InRegistry && !listed.Contains(e.Name)).Select(e => e.Id).ToArray();
        var removed = 0;
        if (gone.Length > 0)
        {
            removed = await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM interfaces WHERE id IN @gone AND used_by_scripts = 0", new { gone }, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE interfaces SET in_registry = 0, dropped_by = @label, updated_at = @now WHERE id IN @gone",
                new { gone, now, label = version is null ? "AKShare's registry" : $"AKShare {version}" }, transaction, cancellationToken: ct));
        }

        // Set in the import's transaction: a crash half-way leaves the old marker, and the next start imports again.
        await SystemSettings.SetAsync(connection, transaction, SourceSetting, marker, now, null, ct);
        await transaction.CommitAsync(ct);
        var added = entries.Count(e => !existing.TryGetValue(e.Name, out var known) || !known.InRegistry);
        return new SyncReport(source, version, entries.Count, added, entries.Count - added, removed);
    }

    private static async Task InsertParametersAsync(MySqlConnection connection, MySqlTransaction transaction,
        IReadOnlyList<(long Id, int Position, ParameterDefinition Parameter)> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return;
        var sql = new StringBuilder("INSERT INTO interface_parameters (interface_id, name, position, type, required, default_value, format, allowed, description) VALUES");
        var args = new DynamicParameters();
        for (var i = 0; i < rows.Count; i++)
        {
            var (id, position, p) = rows[i];
            sql.Append(i == 0 ? "\n" : ",\n").Append(CultureInfo.InvariantCulture, $"(@i{i}, @n{i}, @p{i}, @t{i}, @r{i}, @d{i}, @f{i}, @a{i}, @s{i})");
            args.Add($"i{i}", id); args.Add($"n{i}", p.Name); args.Add($"p{i}", position); args.Add($"t{i}", p.Type); args.Add($"r{i}", p.Required);
            args.Add($"d{i}", p.DefaultValue); args.Add($"f{i}", p.Format); args.Add($"a{i}", p.Allowed is null ? null : JsonSerializer.Serialize(p.Allowed));
            args.Add($"s{i}", p.Description);
        }

        await connection.ExecuteAsync(new CommandDefinition(sql.ToString(), args, transaction, cancellationToken: ct));
    }

    /// <summary>Every interface a data script calls is in the catalogue, with the script's parameter definitions.</summary>
    public async Task MergeScriptInterfacesAsync(IReadOnlyList<ScriptedInterface> scripts, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        foreach (var group in scripts.GroupBy(s => s.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = group.First();
            var id = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT id FROM interfaces WHERE name = @name FOR UPDATE", new { name = group.Key }, transaction, cancellationToken: ct));
            if (id is null)
            {
                id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                    INSERT INTO interfaces (name, display_name, category, description, documented, in_registry, used_by_scripts, created_at, updated_at)
                    VALUES (@name, @displayName, @category, @description, 1, 0, 1, @now, @now);
                    SELECT LAST_INSERT_ID();
                    """, new { name = group.Key, displayName = first.ScriptName, category = first.Category, description = first.Description, now }, transaction, cancellationToken: ct));
            }
            else
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE interfaces SET used_by_scripts = 1, updated_at = @now WHERE id = @id", new { id, now }, transaction, cancellationToken: ct));
            }

            // Parameters from all scripts of the interface: required only where every script says so.
            var merged = group.SelectMany(s => s.Parameters).GroupBy(p => p.Name)
                .Select(g => g.First() with { Required = group.All(s => s.Parameters.Any(p => p.Name == g.Key && p.Required)) })
                .ToList();
            await ReplaceParametersAsync(connection, transaction, id.Value, merged, ct);
        }

        await transaction.CommitAsync(ct);
    }

    public static async Task<IReadOnlyList<ParameterDefinition>> ParametersAsync(MySqlConnection connection, long interfaceId, CancellationToken ct) =>
        (await connection.QueryAsync<(string Name, string Type, bool Required, string? DefaultValue, string? Description, string? Format, string? Allowed)>(
            new CommandDefinition("""
                SELECT name, type, required, default_value, description, format, CAST(allowed AS CHAR)
                FROM interface_parameters WHERE interface_id = @interfaceId ORDER BY position
                """, new { interfaceId }, cancellationToken: ct)))
        .Select(p => new ParameterDefinition(p.Name, p.Type, p.Required, p.DefaultValue, p.Description, p.Format,
            p.Allowed is null ? null : JsonSerializer.Deserialize<List<string>>(p.Allowed)))
        .ToList();

    /// <summary>The Python module AKShare defines the function in (akshare.stock_feature.stock_hist_em); null when the
    /// catalogue does not know the function or its module.</summary>
    public async Task<string?> ModuleAsync(string name, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT module FROM interfaces WHERE name = @name", new { name }, cancellationToken: ct));
    }

    /// <summary>What the last registry import said of each of <paramref name="names"/> that the catalogue holds.</summary>
    public static async Task<IReadOnlyDictionary<string, RegistryState>> RegistryStatesAsync(
        MySqlConnection connection, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        if (names.Count == 0) return new Dictionary<string, RegistryState>(StringComparer.Ordinal);
        var rows = await connection.QueryAsync<(string Name, string? DroppedBy, string? RegistryParams)>(new CommandDefinition(
            "SELECT name, dropped_by, CAST(registry_params AS CHAR) FROM interfaces WHERE name IN @names", new { names }, cancellationToken: ct));
        return rows.ToDictionary(
            r => r.Name,
            r => new RegistryState(r.DroppedBy, r.RegistryParams is null ? null : JsonSerializer.Deserialize<List<string>>(r.RegistryParams)),
            StringComparer.Ordinal);
    }

    public static Task<InterfaceRow?> FindAsync(MySqlConnection connection, long id, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<InterfaceRow>(new CommandDefinition($"SELECT {Columns} FROM interfaces WHERE id = @id", new { id }, cancellationToken: ct));

    /// <summary>By the AKShare function's name (the catalogue's names are unique).</summary>
    public static Task<InterfaceRow?> FindByNameAsync(MySqlConnection connection, string name, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<InterfaceRow>(new CommandDefinition($"SELECT {Columns} FROM interfaces WHERE name = @name", new { name }, cancellationToken: ct));

    public const string Columns = """
        id, name, display_name AS DisplayName, category, description, module, url, limit_desc AS LimitDesc, documented, example,
        in_registry AS InRegistry, used_by_scripts AS UsedByScripts
        """;

    private static async Task ReplaceParametersAsync(MySqlConnection connection, MySqlTransaction transaction, long interfaceId, IReadOnlyList<ParameterDefinition> parameters, CancellationToken ct)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM interface_parameters WHERE interface_id = @interfaceId", new { interfaceId }, transaction, cancellationToken: ct));
        await InsertParametersAsync(connection, transaction, parameters.Select((p, position) => (interfaceId, position, p)).ToList(), ct);
    }

    private async Task<(string Source, Stream Stream)> OpenRegistryAsync(CancellationToken ct)
    {
        var o = options.Value;
        if (!string.IsNullOrWhiteSpace(o.RegistryPath))
        {
            if (!File.Exists(o.RegistryPath)) throw ApiError.BadFormat($"the registry file {o.RegistryPath} does not exist");
            return (o.RegistryPath, File.OpenRead(o.RegistryPath));
        }

        if (!string.IsNullOrWhiteSpace(o.RegistryUrl))
        {
            try
            {
                var response = await http.CreateClient(nameof(InterfaceCatalog)).GetAsync(o.RegistryUrl, HttpCompletionOption.ResponseHeadersRead, ct);
                response.EnsureSuccessStatusCode();
                return (o.RegistryUrl, await response.Content.ReadAsStreamAsync(ct));
            }
            catch (HttpRequestException e)
            {
                throw ApiError.DataCollection($"cannot fetch the registry from {o.RegistryUrl}", e.Message);
            }
        }

        throw new InvalidOperationException("no registry configured");
    }
}
