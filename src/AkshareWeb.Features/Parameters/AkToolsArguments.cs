using System.Globalization;
using System.Text.RegularExpressions;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Parameters;

/// <summary>
/// What may be sent to AKTools, decided in this one place. AKTools (0.0.91, <c>/api/public/{function}</c>) does not
/// parse its query into arguments: it URL-decodes the query once, turns every <c>&amp;</c> into <c>", </c>, every
/// <c>=</c> into <c>="</c>, appends <c>"</c>, turns every <c>+</c> into a space and evaluates
/// <c>ak.{function}({that})</c> as Python. A value is therefore only safe as long as it cannot leave the string
/// literal AKTools wraps it in, and it only arrives unchanged when none of those characters is in it. When the
/// text <c>cookie</c> appears anywhere in the query, AKTools quotes everything after the first <c>=</c> as one
/// single-quoted argument instead, which is only right for a call whose one argument is <c>cookie</c>.
/// </summary>
public static partial class AkToolsArguments
{
    /// <summary>Why each refused character is refused, in words an API user can act on.</summary>
    private static readonly Dictionary<char, string> Refused = new()
    {
        ['"'] = "a double quote (\") would end the string literal AKTools builds around the value and let the rest run as Python on the AKTools host",
        ['\''] = "a single quote (') would end the literal AKTools builds for cookie arguments and let the rest run as Python on the AKTools host",
        ['\\'] = "a backslash (\\) would escape the closing quote of the string literal AKTools builds around the value",
        ['&'] = "an ampersand (&) is where AKTools starts the next argument, so the value would be cut and the rest read as another argument",
        ['='] = "an equals sign (=) is where AKTools opens an argument's value, so the value would reach AKShare changed",
        ['+'] = "a plus sign (+) is turned into a space by AKTools, so AKShare would receive another value than the one given",
    };

    /// <summary>The problem with a parameter name, or null: AKTools writes it into Python as a keyword.</summary>
    public static string? NameProblem(string name) =>
        Identifier().IsMatch(name) ? null : "a parameter name sent to AKTools must be a Python identifier (letters, digits and _, not starting with a digit)";

    /// <summary>The problem with an interface name, or null: AKTools writes it into Python after <c>ak.</c>.</summary>
    public static string? FunctionProblem(string function) =>
        Identifier().IsMatch(function) ? null : $"\"{function}\" is not an AKShare function name (a Python identifier)";

    /// <summary>
    /// Longest value accepted. No AKShare argument is longer (symbols, dates, names, short lists), and AKTools' HTTP
    /// server refuses a long request line with an error page of its own (414) rather than an answer.
    /// </summary>
    public const int MaxValueLength = 1000;

    /// <summary>Longest query, URL-encoded, all arguments together (a Chinese character takes 9 bytes).</summary>
    public const int MaxQueryBytes = 6000;

    /// <summary>The problem with one value, or null.</summary>
    public static string? ValueProblem(string value)
    {
        if (value.Length > MaxValueLength)
        {
            return $"not accepted: longer than {MaxValueLength.ToString(CultureInfo.InvariantCulture)} characters";
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (Refused.TryGetValue(c, out var why)) return $"not accepted: {why}";
            if (char.IsControl(c))
            {
                return $"not accepted: the control character U+{(int)c:X4} cannot stand inside the one-line Python expression AKTools evaluates";
            }

            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    i++;
                    continue;
                }

                return $"not accepted: U+{(int)c:X4} at position {i.ToString(CultureInfo.InvariantCulture)} is half of a surrogate pair, not a character";
            }
        }

        return null;
    }

    /// <summary>
    /// Every problem with a call, each naming its parameter (<c>parameters.symbol</c>); empty when the call reaches
    /// AKShare exactly as given.
    /// </summary>
    public static List<FieldError> Problems(IReadOnlyDictionary<string, string> arguments, string prefix = "parameters")
    {
        var problems = new List<FieldError>();
        var onlyCookie = arguments.Count == 1 && arguments.ContainsKey("cookie");
        foreach (var (name, value) in arguments)
        {
            var field = $"{prefix}.{name}";
            if (NameProblem(name) is { } nameProblem)
            {
                problems.Add(new FieldError(field, nameProblem));
                continue;
            }

            if (ValueProblem(value) is { } valueProblem)
            {
                problems.Add(new FieldError(field, valueProblem));
            }
            else if (!onlyCookie && (value.Contains("cookie", StringComparison.Ordinal) || name.Contains("cookie", StringComparison.Ordinal)))
            {
                problems.Add(new FieldError(field,
                    "not accepted: the text \"cookie\" makes AKTools read the whole query as one cookie argument, so every argument would reach AKShare changed " +
                    "(only a call whose single argument is cookie may carry it)"));
            }
        }

        if (problems.Count == 0 && arguments.Sum(a => a.Key.Length + 2 + Uri.EscapeDataString(a.Value).Length) is var bytes && bytes > MaxQueryBytes)
        {
            problems.Add(new FieldError(prefix,
                $"not accepted: together the values are {bytes.ToString(CultureInfo.InvariantCulture)} bytes in AKTools' query, at most {MaxQueryBytes.ToString(CultureInfo.InvariantCulture)}"));
        }

        return problems;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();
}
