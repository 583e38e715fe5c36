namespace AkshareWeb.Features.Common;

/// <summary>LIKE patterns from user text: %, _ and the escape character match themselves.</summary>
public static class Like
{
    public static string Contains(string text) => "%" + Escape(text) + "%";

    public static string Escape(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("%", "\\%", StringComparison.Ordinal)
            .Replace("_", "\\_", StringComparison.Ordinal);
}
