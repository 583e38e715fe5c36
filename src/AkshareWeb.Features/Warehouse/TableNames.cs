using System.Text.RegularExpressions;

namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// Which tables are the warehouse's: <c>ak_</c> and then lowercase letters, digits and <c>_</c>, 64 characters at
/// most. Scripts may only name such a table, the engine only writes one, readers only show one.
/// </summary>
public static partial class TableNames
{
    public const string Rule = "ak_ followed by lowercase letters, digits and _ (64 characters at most)";

    public static bool IsWarehouseTable(string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex("^ak_[a-z0-9_]{1,61}$")]
    public static partial Regex Pattern();
}
