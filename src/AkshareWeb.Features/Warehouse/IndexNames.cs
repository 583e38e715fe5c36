using System.Security.Cryptography;
using System.Text;

namespace AkshareWeb.Features.Warehouse;

/// <summary>The names of the indexes a warehouse table may have beside its primary key.</summary>
public static class IndexNames
{
    /// <summary>The unique index on the script's key columns themselves.</summary>
    public const string NaturalKey = "ux_natural_key";

    /// <summary>The unique index on <c>_row_key</c>, when the key columns cannot carry one.</summary>
    public const string RowKey = "ux_row_key";

    /// <summary>Indexes built because readers sort by a column; a replace run carries them over to the new table.</summary>
    public const string SortPrefix = "ix_sort_";

    /// <summary>The index on the natural key's <paramref name="position"/>-th column (a date), for reading by day.</summary>
    public static string KeyColumn(int position) => $"ix_key_{position}";

    /// <summary>The sort index for a column: readable when it fits in MySQL's 64 characters.</summary>
    public static string Sort(string column)
    {
        var name = SortPrefix + column;
        return name.Length <= 64 ? name : SortPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(column)))[..16];
    }

    public static bool IsSort(string indexName) => indexName.StartsWith(SortPrefix, StringComparison.OrdinalIgnoreCase);
}
