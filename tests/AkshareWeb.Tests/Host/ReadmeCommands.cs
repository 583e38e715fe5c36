using System.Text;
using System.Text.RegularExpressions;

namespace AkshareWeb.Tests.Host;

/// <summary>A command of the README as bash reads it, the line it starts on, and why it is not run (null: it is).</summary>
public sealed record ReadmeCommand(int Line, string Text, string? NotRun = null)
{
    public string FirstLine => Text.Split('\n')[0].TrimEnd('\\').Trim();
}

/// <summary>
/// The commands of the README's bash blocks that call curl, in the file's order, as a user pastes them into one
/// shell. Not run: the line that sets <c>BASE</c> (the test's BASE is its own service), a command holding <c>…</c>
/// (a value only the reader has, such as a robot's webhook), and a command that reads a variable only such a command
/// sets.
/// </summary>
public static partial class ReadmeCommands
{
    public static IReadOnlyList<ReadmeCommand> Read(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var commands = new List<ReadmeCommand>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (!fence.Success) continue;
            var indent = fence.Groups["indent"].Value.Length;
            var first = i + 1;
            var end = first;
            while (end < lines.Length && lines[end].Trim() != "```") end++;
            i = end;
            // A block inside a list item is indented like the item's text.
            var block = lines[first..end].Select(l => l.Length >= indent && l[..indent].Trim().Length == 0 ? l[indent..] : l.TrimStart()).ToList();
            if (fence.Groups["language"].Value is not ("bash" or "sh" or "shell") || !block.Any(l => CurlCall().IsMatch(l))) continue;
            commands.AddRange(Split(block).Select(c => new ReadmeCommand(first + c.Offset + 1, c.Text)));
        }

        return Classify(commands);
    }

    /// <summary>
    /// Commands as bash splits them: a newline ends one unless a backslash continues the line or a quote or a
    /// parenthesis is still open; a # that starts a word outside quotes starts a comment.
    /// </summary>
    internal static IEnumerable<(int Offset, string Text)> Split(IReadOnlyList<string> block)
    {
        var text = string.Join('\n', block) + "\n";
        var current = new StringBuilder();
        var line = 0;
        var startLine = 0;
        char? quote = null;
        var depth = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') line++;
            if (quote == '\'')
            {
                current.Append(c);
                if (c == '\'') quote = null;
                continue;
            }

            if (c == '\\' && i + 1 < text.Length)
            {
                if (text[i + 1] == '\n') line++;
                current.Append(c).Append(text[++i]);
                continue;
            }

            if (quote == '"')
            {
                current.Append(c);
                if (c == '"') quote = null;
                continue;
            }

            switch (c)
            {
                case '\'' or '"':
                    quote = c;
                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case '#' when current.Length == 0 || char.IsWhiteSpace(current[^1]):
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    continue;
                case '\n' when depth == 0:
                    if (current.ToString().Trim() is { Length: > 0 } command) yield return (startLine, command);
                    current.Clear();
                    startLine = line;
                    continue;
            }

            if (current.ToString().Trim().Length == 0 && !char.IsWhiteSpace(c)) startLine = line;
            current.Append(c);
        }
    }

    private static List<ReadmeCommand> Classify(List<ReadmeCommand> commands)
    {
        var unset = new HashSet<string>(StringComparer.Ordinal);
        var classified = new List<ReadmeCommand>();
        foreach (var command in commands)
        {
            var reads = unset.FirstOrDefault(v => Regex.IsMatch(command.Text, $@"\$\{{?{v}\b"));
            string? why = Assigned(command.Text).Contains("BASE") ? "sets BASE: the test's BASE is the service it started"
                : command.Text.Contains('…', StringComparison.Ordinal) ? "holds …, a value only the reader has"
                : reads is not null ? $"reads ${reads}, which only a command with … sets"
                : null;
            if (why is not null && !why.StartsWith("sets BASE", StringComparison.Ordinal)) unset.UnionWith(Assigned(command.Text));
            classified.Add(command with { NotRun = why });
        }

        return classified;
    }

    /// <summary>The variables a command sets: NAME=… or read [-r] NAME … &lt; ….</summary>
    private static IReadOnlyList<string> Assigned(string command) =>
        Assignment().Match(command) is { Success: true } set ? [set.Groups["name"].Value]
        : ReadInto().Match(command) is { Success: true } read ? read.Groups["names"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
        : [];

    [GeneratedRegex(@"^(?<indent>[ ]{0,4})```(?<language>\w*)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"(^|[\s;|&($])curl\s")]
    private static partial Regex CurlCall();

    [GeneratedRegex(@"^(?<name>[A-Za-z_][A-Za-z0-9_]*)=")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"^read\s+(-r\s+)?(?<names>[A-Za-z_][A-Za-z0-9_ ]*?)\s*<")]
    private static partial Regex ReadInto();
}
