using System.Text.Encodings.Web;
using System.Text.Json;

namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// A collected column's original (AKShare) name lives in its COMMENT, since its SQL name may have had to change
/// (see <see cref="ColumnNames.ToSql"/>). Comments live in the data dictionary as 3-byte UTF-8, so a name with
/// characters beyond the BMP (emoji), a NUL, or one that itself starts with the marker is kept JSON-escaped behind
/// <c>json:</c>.
/// </summary>
public static class ColumnComments
{
    private const string Marker = "json:";
    private static readonly JsonSerializerOptions AsciiJson = new() { Encoder = JavaScriptEncoder.Default };

    /// <summary>The text stored as the comment for <paramref name="original"/>.</summary>
    public static string Encode(string original) =>
        original.Any(char.IsSurrogate) || original.Contains('\0', StringComparison.Ordinal) || original.StartsWith(Marker, StringComparison.Ordinal)
            ? Marker + JsonSerializer.Serialize(original, AsciiJson)
            : original;

    /// <summary>
    /// The encoded text as a string literal for a COMMENT clause (or a default), with both the backslash and the
    /// quote escaped (the server's default SQL mode reads backslash escapes).
    /// </summary>
    public static string Literal(string text) =>
        "'" + Encode(text).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The original name of the column <paramref name="sqlName"/> whose comment is <paramref name="comment"/>: the
    /// SQL name for a bookkeeping column (whose comment describes it) or a column without a comment.
    /// </summary>
    public static string OriginalName(string sqlName, string? comment)
    {
        if (string.IsNullOrEmpty(comment) || BookkeepingColumns.IsBookkeeping(sqlName)) return sqlName;
        return comment.StartsWith(Marker, StringComparison.Ordinal) ? JsonSerializer.Deserialize<string>(comment[Marker.Length..]) ?? sqlName : comment;
    }
}
