using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Scripts;

namespace AkshareWeb.Features.Interfaces;

/// <summary>Configuration section <c>Catalog</c>: where AKShare's registry (akshare/data/interfaces.json) is.</summary>
public sealed class CatalogOptions
{
    public const string Section = "Catalog";

    public string? RegistryPath { get; set; }
    public string? RegistryUrl { get; set; }
}

public sealed record SyncReport(string Source, int Total, int Added, int Updated, int Removed);

/// <summary>An interface's row, and the category names shown to people.</summary>
public sealed record InterfaceRow(long Id, string Name, string DisplayName, string Category, string? Description, string? Module, string? Url,
    string? LimitDesc, bool Documented, string? Example, bool InRegistry, bool UsedByScripts);

/// <summary>
/// The catalogue of AKShare interfaces: imported from AKShare's own registry (name, module, category, desc, url,
/// limit_desc, params, outputs, example) and merged with the interfaces the data scripts call, whose parameter
/// definitions (required, defaults, types, formats) are more precise than the registry's free text.
/// </summary>
public sealed partial class InterfaceCatalog(Database database, IOptions<CatalogOptions> options, IHttpClientFactory http, TimeProvider time)
{
    /// <summary>Chinese names of AKShare's registry categories and of the data scripts' categories.</summary>
    public static readonly IReadOnlyDictionary<string, (string DisplayName, string Description)> Categories = new Dictionary<string, (string, string)>
    {
        ["stock"] = ("股票", "A股、港股、美股等股票行情与基本面数据"),
        ["stocks"] = ("股票", "股票相关数据接口"),
        ["fund"] = ("基金", "公募、私募、ETF 等基金数据"),
        ["funds"] = ("基金", "基金相关数据接口"),
        ["futures"] = ("期货", "期货行情、持仓与仓单数据"),
        ["index"] = ("指数", "股票、债券与商品指数数据"),
        ["indexes"] = ("指数", "指数相关数据接口"),
        ["option"] = ("期权", "期权行情与风险指标数据"),
        ["options"] = ("期权", "期权相关数据接口"),
        ["bond"] = ("债券", "债券行情、收益率与可转债数据"),
        ["bonds"] = ("债券", "债券相关数据接口"),
        ["macro"] = ("宏观", "国内外宏观经济数据"),
        ["fx"] = ("外汇", "外汇行情与汇率数据"),
        ["currency"] = ("货币", "货币与汇率数据"),
        ["interest_rate"] = ("利率", "利率数据"),
        ["energy"] = ("能源", "能源数据"),
        ["spot"] = ("现货", "现货价格数据"),
        ["bank"] = ("银行", "银行数据"),
        ["news"] = ("资讯", "新闻资讯数据"),
        ["tool"] = ("工具", "交易日历等工具数据"),
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
    };

    /// <summary>Imports the registry: adds new interfaces, updates known ones, removes those it no longer lists
    /// (unless a data script uses them).</summary>
    public async Task<SyncReport> SyncAsync(CancellationToken ct)
    {
        var (source, stream) = await OpenRegistryAsync(ct);
        List<RegistryEntry> entries;
        await using (stream)
        {
            try
            {
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: ct);
                var root = document.RootElement;
                var list = root.ValueKind == JsonValueKind.Array ? root
                    : root.TryGetProperty("interfaces", out var inner) && inner.ValueKind == JsonValueKind.Array ? inner
                    : throw ApiError.BadFormat("the registry must be a JSON array of interfaces or an object with an \"interfaces\" array");
                entries = list.EnumerateArray().Select(ParseEntry).Where(e => e is not null).Select(e => e!).ToList();
            }
            catch (JsonException e)
            {
                throw ApiError.BadFormat($"the registry at {source} is not valid JSON", e.Message);
            }
        }

        await using var connection = await database.OpenAsync(ct);
        // One import at a time across instances (and never beside a scan's merge): they touch the same rows.
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT GET_LOCK('akshareweb.scripts.scan', 60)", cancellationToken: ct));
        try
        {
            return await ImportAsync(connection, source, entries, ct);
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK('akshareweb.scripts.scan')", cancellationToken: CancellationToken.None));
        }
    }

    private async Task<SyncReport> ImportAsync(MySqlConnection connection, string source, List<RegistryEntry> entries, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        int added = 0, updated = 0;
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var existing = (await connection.QueryAsync<(long Id, string Name, bool InRegistry)>(new CommandDefinition(
            "SELECT id, name, in_registry FROM interfaces FOR UPDATE", transaction: transaction, cancellationToken: ct))).ToDictionary(e => e.Name);
        foreach (var entry in entries.DistinctBy(e => e.Name))
        {
            var args = new
            {
                entry.Name, entry.DisplayName, entry.Category, entry.Description, entry.Module, entry.Url, entry.LimitDesc, entry.Documented, entry.Example,
                outputs = entry.Outputs, now,
            };
            long id;
            if (existing.TryGetValue(entry.Name, out var known))
            {
                id = known.Id;
                await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE interfaces SET display_name = @DisplayName, category = @Category, description = @Description, module = @Module, url = @Url,
                      limit_desc = @LimitDesc, documented = @Documented, example = @Example, outputs = @outputs, in_registry = 1, updated_at = @now
                    WHERE id = @id
                    """, new { args.DisplayName, args.Category, args.Description, args.Module, args.Url, args.LimitDesc, args.Documented, args.Example, args.outputs, now, id }, transaction, cancellationToken: ct));
                if (known.InRegistry) updated++; else added++;
            }
            else
            {
                id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                    INSERT INTO interfaces (name, display_name, category, description, module, url, limit_desc, documented, example, outputs,
                      in_registry, used_by_scripts, created_at, updated_at)
                    VALUES (@Name, @DisplayName, @Category, @Description, @Module, @Url, @LimitDesc, @Documented, @Example, @outputs, 1, 0, @now, @now);
                    SELECT LAST_INSERT_ID();
                    """, args, transaction, cancellationToken: ct));
                added++;
            }

            // A script's parameter definitions are the better ones; the registry fills what no script defines.
            var scripted = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT used_by_scripts FROM interfaces WHERE id = @id", new { id }, transaction, cancellationToken: ct));
            if (!scripted) await ReplaceParametersAsync(connection, transaction, id, entry.Parameters, ct);
        }

        var listed = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var gone = existing.Values.Where(e => e.InRegistry && !listed.Contains(e.Name)).Select(e => e.Id).ToArray();
        var removed = 0;
        if (gone.Length > 0)
        {
            removed = await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM interfaces WHERE id IN @gone AND used_by_scripts = 0", new { gone }, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE interfaces SET in_registry = 0, updated_at = @now WHERE id IN @gone", new { gone, now }, transaction, cancellationToken: ct));
        }

        await transaction.CommitAsync(ct);
        return new SyncReport(source, entries.Count, added, updated, removed);
    }

    /// <summary>Every interface a data script calls is in the catalogue, with the script's parameter definitions.</summary>
    public async Task MergeScriptInterfacesAsync(IReadOnlyList<DataScriptDefinition> scripts, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        foreach (var group in scripts.GroupBy(s => s.Interface).OrderBy(g => g.Key, StringComparer.Ordinal))
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
                    """, new { name = group.Key, displayName = first.Name, category = first.Category, description = first.Description, now }, transaction, cancellationToken: ct));
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

    public static Task<InterfaceRow?> FindAsync(MySqlConnection connection, long id, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<InterfaceRow>(new CommandDefinition($"SELECT {Columns} FROM interfaces WHERE id = @id", new { id }, cancellationToken: ct));

    public const string Columns = """
        id, name, display_name AS DisplayName, category, description, module, url, limit_desc AS LimitDesc, documented, example,
        in_registry AS InRegistry, used_by_scripts AS UsedByScripts
        """;

    private static async Task ReplaceParametersAsync(MySqlConnection connection, MySqlTransaction transaction, long interfaceId, IReadOnlyList<ParameterDefinition> parameters, CancellationToken ct)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM interface_parameters WHERE interface_id = @interfaceId", new { interfaceId }, transaction, cancellationToken: ct));
        var position = 0;
        foreach (var p in parameters)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO interface_parameters (interface_id, name, position, type, required, default_value, format, allowed, description)
                VALUES (@interfaceId, @Name, @position, @Type, @Required, @DefaultValue, @Format, @allowed, @Description)
                """, new
            {
                interfaceId, p.Name, position = position++, p.Type, p.Required, p.DefaultValue, p.Format,
                allowed = p.Allowed is null ? null : JsonSerializer.Serialize(p.Allowed), p.Description,
            }, transaction, cancellationToken: ct));
        }
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

        throw ApiError.BadFormat("no registry configured: set Catalog:RegistryPath (a copy of akshare/data/interfaces.json) or Catalog:RegistryUrl");
    }

    private sealed record RegistryEntry(string Name, string DisplayName, string Category, string? Description, string? Module, string? Url,
        string? LimitDesc, bool Documented, string? Example, string? Outputs, IReadOnlyList<ParameterDefinition> Parameters);

    private static RegistryEntry? ParseEntry(JsonElement e)
    {
        string? S(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var name = S("name");
        if (name is null || name.Length > 128) return null;
        var description = S("desc");
        var parameters = new List<ParameterDefinition>();
        if (e.TryGetProperty("params", out var ps) && ps.ValueKind == JsonValueKind.Array)
        {
            foreach (var p in ps.EnumerateArray())
            {
                var pname = p.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "-";
                if (!Identifier().IsMatch(pname) || parameters.Any(x => x.Name == pname)) continue; // "-" means: no parameters
                var pdesc = p.TryGetProperty("desc", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                var ptype = p.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                // The registry writes defaults into the description: symbol="000001"; ...
                var example = pdesc is null ? null : DefaultInDescription().Match(pdesc);
                parameters.Add(new ParameterDefinition(pname, ptype switch { "int" or "int64" => "int", "float" or "float64" => "float", "bool" => "bool", _ => "string" },
                    false, example is { Success: true } m && m.Groups[1].Value == pname ? m.Groups[2].Value : null, pdesc));
            }
        }

        var category = S("category") ?? "others";
        return new RegistryEntry(name, Shorten(description) ?? name, category, description, S("module"), S("url"), S("limit_desc"),
            e.TryGetProperty("documented", out var doc) && doc.ValueKind == JsonValueKind.True, S("example"),
            e.TryGetProperty("outputs", out var outputs) ? outputs.GetRawText() : null, parameters);
    }

    /// <summary>The registry has no display name; the first clause of its description serves (at most 60 characters).</summary>
    private static string? Shorten(string? description)
    {
        if (string.IsNullOrWhiteSpace(description)) return null;
        var first = description.Split(['；', ';', '。', '\n'], 2)[0].Trim();
        return first.Length > 60 ? first[..60] : first;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    [GeneratedRegex("""^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*["']([^"']*)["']""")]
    private static partial Regex DefaultInDescription();
}
