using System.Security.Cryptography;
using System.Text;

namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// Column names in MySQL: AKShare's names are kept (quoted) where MySQL allows them. A name MySQL cannot hold
/// (over 64 characters, trailing spaces, control or non-BMP characters such as emoji), one that clashes with a
/// bookkeeping column, or one equal to an earlier column but for case, becomes its first 50 usable characters,
/// '~' and 8 hex digits of its SHA-256: deterministic, so every run maps it alike. The original name is kept in
/// the column's COMMENT (<see cref="ColumnComments"/>).
/// </summary>
public static class ColumnNames
{
    /// <summary>The SQL name for <paramref name="original"/>, given the SQL names the table has taken already.</summary>
    public static string ToSql(string original, ICollection<string> taken)
    {
        var usable = original.Length is > 0 and <= 64
            && !original.EndsWith(' ')
            && original.All(c => !char.IsControl(c) && !char.IsSurrogate(c))
            && !BookkeepingColumns.All.Contains(original, StringComparer.OrdinalIgnoreCase)
            && !taken.Contains(original, StringComparer.OrdinalIgnoreCase);
        if (usable) return original;

        var kept = new string(original.Where(c => !char.IsControl(c) && !char.IsSurrogate(c)).ToArray()).Trim();
        if (kept.Length > 50) kept = kept[..50].TrimEnd();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(original)))[..8];
        return $"{kept}~{hash}";
    }

    /// <summary>A checked identifier, backquoted with inner backquotes doubled.</summary>
    public static string Quote(string identifier)
    {
        if (identifier.Length is 0 or > 64 || identifier.Any(c => c == '\0' || char.IsSurrogate(c)))
        {
            throw new ArgumentException($"not a usable identifier: {identifier}", nameof(identifier));
        }

        return "`" + identifier.Replace("`", "``", StringComparison.Ordinal) + "`";
    }
}
