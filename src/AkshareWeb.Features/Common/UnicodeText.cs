using System.Globalization;

namespace AkshareWeb.Features.Common;

/// <summary>
/// What may stand in a text field: any Unicode scalar value but the noncharacters (U+FDD0 to U+FDEF and the last two
/// code points of every plane, U+FFFE, U+FFFF, U+1FFFE, ... U+10FFFF), which Unicode keeps for a program's own use and
/// no name, symbol or date holds. A lone surrogate (half of a UTF-16 pair, which JSON can escape: "\ud800") is no text
/// at all. Refused as input: .NET's normalisation, for one, throws on both.
/// </summary>
public static class UnicodeText
{
    public const string LoneSurrogate = "half of a UTF-16 surrogate pair (\\ud800-\\udfff alone)";

    /// <summary>What in <paramref name="text"/> is not text, in words; null when all of it is.</summary>
    public static string? Problem(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var scalar = char.ConvertToUtf32(c, text[++i]);
                if ((scalar & 0xFFFE) == 0xFFFE) return Noncharacter(scalar);
            }
            else if (char.IsSurrogate(c))
            {
                return LoneSurrogate;
            }
            else if (c is >= '\uFDD0' and <= '\uFDEF' or '\uFFFE' or '\uFFFF')
            {
                return Noncharacter(c);
            }
        }

        return null;
    }

    private static string Noncharacter(int scalar) =>
        $"U+{scalar.ToString("X4", CultureInfo.InvariantCulture)}, a noncharacter (Unicode keeps them for a program's own use)";
}
