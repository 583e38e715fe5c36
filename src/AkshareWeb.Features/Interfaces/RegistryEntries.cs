using System.Text.Json;
using System.Text.RegularExpressions;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Interfaces;

/// <summary>One interface as an import writes it. <c>RegistryParams</c> are the parameter names the registry lists
/// (null when it lists none), which tell a script parameter the function no longer takes.</summary>
internal sealed record RegistryEntry(string Name, string DisplayName, string Category, string? Description, string? Module, string? Url,
    string? LimitDesc, bool Documented, string? Example, string? Outputs, IReadOnlyList<ParameterDefinition> Parameters, IReadOnlyList<string>? RegistryParams);

/// <summary>Turns AKShare's registry, full or as the bundled snapshot, into catalogue entries.</summary>
internal static partial class RegistryEntries
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>AKShare's registry names stock, fund, index, option and bond in the singular; the API and the data
    /// scripts use the plural. Every other category keeps AKShare's name.</summary>
    public static string Category(string? registryCategory) => registryCategory switch
    {
        null or "" => "others",
        "stock" => "stocks",
        "fund" => "funds",
        "index" => "indexes",
        "option" => "options",
        "bond" => "bonds",
        var other => other,
    };

    public static RegistryEntry FromSnapshot(SnapshotInterface i) => new(
        i.Name, i.Name, Category(i.Category), null, i.Module, null, null, false, null,
        JsonSerializer.Serialize(i.Outputs.Select(o => new { name = o.Name, type = o.Type }), Compact),
        i.Params.Select(p => new ParameterDefinition(p.Name, ParameterType(p.Type, p.Default), p.Default is null, Usable(p.Default), null)).ToList(),
        i.Params.Count == 0 ? null : i.Params.Select(p => p.Name).ToList());

    /// <summary>An entry of a full akshare/data/interfaces.json. Where the registry's text gives no default, the
    /// bundled snapshot's (read from the function's code) fills it, for the parameters both know.</summary>
    public static RegistryEntry? FromRegistry(JsonElement e, RegistrySnapshot snapshot)
    {
        string? S(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var name = S("name");
        if (name is null || name.Length > 128) return null;
        var known = snapshot.Find(name);
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
                var coded = known?.Params.FirstOrDefault(x => x.Name == pname);
                var fromText = example is { Success: true } m && m.Groups[1].Value == pname ? m.Groups[2].Value : null;
                parameters.Add(new ParameterDefinition(pname, ParameterType(ptype, null), coded is { Default: null },
                    fromText ?? Usable(coded?.Default), pdesc));
            }
        }

        return new RegistryEntry(name, Shorten(description) ?? name, Category(S("category")), description, S("module"), S("url"), S("limit_desc"),
            e.TryGetProperty("documented", out var doc) && doc.ValueKind == JsonValueKind.True, S("example"),
            e.TryGetProperty("outputs", out var outputs) ? outputs.GetRawText() : null, parameters,
            parameters.Count == 0 ? null : parameters.Select(p => p.Name).ToList());
    }

    private static string ParameterType(string? registryType, string? pythonDefault) => registryType switch
    {
        "int" or "int64" => "int",
        "float" or "float64" => "float",
        "bool" => "bool",
        null when pythonDefault is "True" or "False" => "bool",
        _ => "string",
    };

    /// <summary>A Python default that is None or an expression (a call, a name) is no value a caller could send.</summary>
    private static string? Usable(string? pythonDefault) =>
        pythonDefault is null or "None" || pythonDefault.Contains('(', StringComparison.Ordinal) ? null : pythonDefault;

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
