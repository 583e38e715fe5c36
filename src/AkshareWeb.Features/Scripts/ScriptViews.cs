using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Scripts;

/// <summary>A script in lists. <c>BrokenReason</c> says why it cannot run with the catalogue as imported (its
/// interface or a parameter gone); null when it can.</summary>
public sealed record ScriptSummary(long Id, string ScriptId, string ScriptName, string Category, string Frequency, bool IsActive, string? Description,
    string Interface, string TargetTable, DateTime UpdatedAt, string? BrokenReason)
{
    public bool Broken => BrokenReason is not null;
}

/// <summary>A script with everything its definition says.</summary>
public sealed record ScriptDetail(long Id, string ScriptId, string ScriptName, string Category, string Frequency, bool IsActive, string? Description,
    string Interface, string ModulePath, string TargetTable, string WriteMode, IReadOnlyList<string> KeyColumns, IReadOnlyDictionary<string, string> ExtraColumns,
    IReadOnlyList<ParameterView> Parameters, string FilePath, DateTime CreatedAt, DateTime UpdatedAt, string? BrokenReason)
{
    public bool Broken => BrokenReason is not null;
}
