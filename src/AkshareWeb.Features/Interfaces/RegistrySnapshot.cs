using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AkshareWeb.Features.Interfaces;

/// <summary>A parameter of an AKShare function as its <c>def</c> declares it: <c>Default</c> is the Python literal
/// rendered as text (strings unquoted, <c>None</c> for None), null when the parameter has no default.</summary>
public sealed record SnapshotParameter(string Name, string? Type, string? Default);

public sealed record SnapshotOutput(string Name, string? Type);

public sealed record SnapshotInterface(string Name, string? Module, string Category, IReadOnlyList<SnapshotParameter> Params, IReadOnlyList<SnapshotOutput> Outputs);

/// <summary>
/// The snapshot of AKShare's registry bundled with the service (Interfaces/Registry/akshare-interfaces.json, made by
/// scripts/akshare-registry.py): facts only, no prose. It fills the catalogue when no registry is configured, and
/// the data-script linter checks scripts against it.
/// </summary>
public sealed record RegistrySnapshot(string AkshareVersion, IReadOnlyList<SnapshotInterface> Interfaces)
{
    public const string ResourceName = "AkshareWeb.Features.Interfaces.Registry.akshare-interfaces.json";

    private static readonly Lazy<RegistrySnapshot> Bundled = new(() =>
    {
        using var stream = typeof(RegistrySnapshot).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the embedded resource {ResourceName} is missing");
        return Read(stream);
    });

    /// <summary>SHA-256 of the file: tells a restart on the same snapshot (nothing to import) from a new one.</summary>
    public string Hash { get; private init; } = "";

    private readonly Dictionary<string, SnapshotInterface> byName =
        Interfaces.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

    public static RegistrySnapshot Load() => Bundled.Value;

    public SnapshotInterface? Find(string name) => byName.GetValueOrDefault(name);

    public static RegistrySnapshot Read(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var bytes = buffer.ToArray();
        var file = JsonSerializer.Deserialize<SnapshotFile>(bytes, Json) ?? throw new InvalidOperationException("the snapshot is empty");
        return new RegistrySnapshot(file.AkshareVersion ?? "unknown", file.Interfaces ?? []) { Hash = Convert.ToHexStringLower(SHA256.HashData(bytes)) };
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record SnapshotFile(
        [property: JsonPropertyName("akshare_version")] string? AkshareVersion,
        IReadOnlyList<SnapshotInterface>? Interfaces);
}
