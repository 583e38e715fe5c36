using System.Text.Json;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Interfaces;

public sealed record InterfaceSummary(long Id, string Name, string DisplayName, string Category, string? Description, long ParameterCount, bool InRegistry, bool UsedByScripts);

public sealed record InterfaceDetail(long Id, string Name, string DisplayName, string Category, string? Description, string? Module, string? Url,
    string? LimitDesc, bool Documented, string? Example, JsonElement? Outputs, bool InRegistry, bool UsedByScripts, IReadOnlyList<ParameterView> Parameters);

public sealed record InterfaceCategory(string Name, string DisplayName, string Description, long InterfaceCount);
