using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>How Starlette reads and re-writes a query string (QueryParams: parse_qsl, then urlencode in str()).</summary>
public static class Starlette
{
    /// <summary>parse_qsl(query, keep_blank_values=True): split on &amp;, + is a space, %XX decoded as UTF-8.</summary>
    public static List<KeyValuePair<string, string>> ParseQuery(string query)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var piece in query.Split('&'))
        {
            if (piece.Length == 0) continue;
            var cut = piece.IndexOf('=', StringComparison.Ordinal);
            var (name, value) = cut < 0 ? (piece, "") : (piece[..cut], piece[(cut + 1)..]);
            pairs.Add(new(Unquote(name.Replace('+', ' ')), Unquote(value.Replace('+', ' '))));
        }

        return pairs;
    }

    /// <summary>urlencode(pairs): quote_plus of each name and value (only letters, digits and _.-~ stay as they are).</summary>
    public static string Encode(IEnumerable<KeyValuePair<string, string>> pairs) =>
        string.Join('&', pairs.Select(p => QuotePlus(p.Key) + "=" + QuotePlus(p.Value)));

    private static string QuotePlus(string text)
    {
        var builder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (b == (byte)' ') builder.Append('+');
            else if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'_' or (byte)'.' or (byte)'-' or (byte)'~') builder.Append((char)b);
            else builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    private static string Unquote(string text) => Uri.UnescapeDataString(text);
}

/// <summary>Reads <c>ak.f(a="x", b='y')</c> back as Python would: the keyword arguments, or null for anything else.</summary>
public static class PythonCall
{
    public static List<KeyValuePair<string, string>>? ReadKeywordStrings(string expression, string function)
    {
        var prefix = $"ak.{function}(";
        if (!expression.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var i = prefix.Length;
        var arguments = new List<KeyValuePair<string, string>>();
        while (true)
        {
            SkipSpaces(expression, ref i);
            var start = i;
            while (i < expression.Length && (char.IsAsciiLetterOrDigit(expression[i]) || expression[i] == '_')) i++;
            if (i == start || char.IsAsciiDigit(expression[start])) return null;
            var name = expression[start..i];
            SkipSpaces(expression, ref i);
            if (i >= expression.Length || expression[i] != '=') return null;
            i++;
            SkipSpaces(expression, ref i);
            if (i >= expression.Length || expression[i] is not ('"' or '\'')) return null;
            var quote = expression[i++];
            var end = expression.IndexOf(quote, i);
            if (end < 0) return null;
            var value = expression[i..end];
            // A backslash would make Python read another value; a line break ends the literal with a SyntaxError.
            if (value.Contains('\\', StringComparison.Ordinal) || value.Any(c => c is '\n' or '\r')) return null;
            i = end + 1;
            if (arguments.Any(a => a.Key == name)) return null; // Python: keyword argument repeated
            arguments.Add(new(name, value));
            SkipSpaces(expression, ref i);
            if (i < expression.Length && expression[i] == ',')
            {
                i++;
                continue;
            }

            return i == expression.Length - 1 && expression[i] == ')' ? arguments : null;
        }
    }

    private static void SkipSpaces(string text, ref int i)
    {
        while (i < text.Length && text[i] == ' ') i++;
    }
}

/// <summary>
/// JSON as AKTools writes a DataFrame: pandas' to_json(orient="records", date_format="iso") read back with json.loads
/// and written by Starlette's JSONResponse (json.dumps, ensure_ascii=False, compact). So: datetimes and dates as
/// 2024-01-02T00:00:00.000, NaN as null, floats rounded to 10 decimals (10 significant digits from 1e16 on) and
/// written as Python's repr (100.0, 2.5e-05, 1e+16), non-ASCII as it is.
/// </summary>
public static class PythonJson
{
    public static string Write(object? value)
    {
        var builder = new StringBuilder();
        WriteValue(builder, value);
        return builder.ToString();
    }

    private static void WriteValue(StringBuilder b, object? value)
    {
        switch (value)
        {
            case null:
                b.Append("null");
                break;
            case string s:
                WriteString(b, s);
                break;
            case bool flag:
                b.Append(flag ? "true" : "false");
                break;
            case double d:
                b.Append(PythonFloat(d));
                break;
            case float f:
                b.Append(PythonFloat(f));
                break;
            case decimal m:
                b.Append(PythonFloat((double)m));
                break;
            case int or long or short or byte or uint or ulong:
                b.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            case DateOnly day:
                b.Append('"').Append(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append("T00:00:00.000\"");
                break;
            case DateTime time:
                b.Append('"').Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture)).Append('"');
                break;
            case IDictionary dictionary:
                b.Append('{');
                var first = true;
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (!first) b.Append(',');
                    first = false;
                    WriteString(b, Convert.ToString(entry.Key, CultureInfo.InvariantCulture)!);
                    b.Append(':');
                    WriteValue(b, entry.Value);
                }

                b.Append('}');
                break;
            case IEnumerable list:
                b.Append('[');
                var firstItem = true;
                foreach (var item in list)
                {
                    if (!firstItem) b.Append(',');
                    firstItem = false;
                    WriteValue(b, item);
                }

                b.Append(']');
                break;
            default:
                // An anonymous object: its properties are the row's columns, in order.
                WriteValue(b, value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .ToDictionary(p => p.Name, p => p.GetValue(value)));
                break;
        }
    }

    /// <summary>json.dumps' string: quote, backslash and \b\f\n\r\t escaped, other control characters as \u00xx.</summary>
    private static void WriteString(StringBuilder b, string s)
    {
        b.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                case '\b': b.Append("\\b"); break;
                case '\f': b.Append("\\f"); break;
                default:
                    if (c < 0x20) b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else b.Append(c);
                    break;
            }
        }

        b.Append('"');
    }

    /// <summary>pandas' rounding, then Python's repr of the float json.loads made of it.</summary>
    public static string PythonFloat(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d)) return "null";
        d = Math.Abs(d) >= 1e16
            ? double.Parse(d.ToString("G10", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
            : double.Parse(d.ToString("F10", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";

        // Shortest round-trip digits and the decimal exponent of the first one, as repr computes them.
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = text.StartsWith('-');
        if (negative) text = text[1..];
        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var point = text.IndexOf('.', StringComparison.Ordinal);
        var digits = point < 0 ? text : text.Remove(point, 1);
        var before = point < 0 ? text.Length : point;
        var leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        var scientific = before - leading - 1 + exponent;

        var result = new StringBuilder(negative ? "-" : "");
        if (scientific is >= -4 and < 16)
        {
            if (scientific >= 0)
            {
                var whole = digits.Length > scientific + 1 ? digits[..(scientific + 1)] : digits.PadRight(scientific + 1, '0');
                var fraction = digits.Length > scientific + 1 ? digits[(scientific + 1)..] : "0";
                result.Append(whole).Append('.').Append(fraction);
            }
            else
            {
                result.Append("0.").Append('0', -scientific - 1).Append(digits);
            }
        }
        else
        {
            result.Append(digits[0]);
            if (digits.Length > 1) result.Append('.').Append(digits[1..]);
            result.Append('e').Append(scientific < 0 ? '-' : '+').Append(Math.Abs(scientific).ToString("00", CultureInfo.InvariantCulture));
        }

        return result.ToString();
    }
}
