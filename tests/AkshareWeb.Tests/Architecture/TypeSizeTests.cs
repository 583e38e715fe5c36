using Xunit.Abstractions;

namespace AkshareWeb.Tests.Architecture;

/// <summary>
/// A type past 400 lines does several jobs; the rule keeps the service's code readable type by type. A partial type
/// is counted over all its files, so splitting a class into partial files that share its fields does not hide its
/// size. Source files keep their own limit too.
/// </summary>
public sealed class TypeSizeTests(ITestOutputHelper output)
{
    private const int MaxLines = 400;

    /// <summary>
    /// The types over the limit when the rule came (issue 22), each with the size it may not grow past. The list only
    /// shrinks: a type split below the limit must leave it, and the restructure of issue 22 ends with it empty.
    /// </summary>
    private static readonly Dictionary<string, int> Over = new(StringComparer.Ordinal)
    {
        ["AkshareWeb.Api.Setup.OpenApiShape"] = 547,
        ["AkshareWeb.Hangfire.MySql.MySqlMonitoringApi"] = 405,
    };

    [Fact]
    public void No_type_is_over_400_lines_summed_over_its_files()
    {
        var tooLong = Sizes()
            .Where(t => t.Lines > MaxLines && !Over.ContainsKey(t.Name))
            .Select(Describe)
            .ToList();
        Assert.True(tooLong.Count == 0, $"Types over {MaxLines} lines (split them by job into types with their own state):\n" + string.Join("\n", tooLong));
    }

    [Fact]
    public void A_type_over_the_limit_shrinks_only()
    {
        var sizes = Sizes().ToDictionary(t => t.Name, StringComparer.Ordinal);
        var grown = Over.Where(o => sizes.TryGetValue(o.Key, out var t) && t.Lines > o.Value)
            .Select(o => $"{Describe(sizes[o.Key])}, more than the {o.Value} it had")
            .ToList();
        Assert.True(grown.Count == 0, "Types over the limit that grew (split them instead):\n" + string.Join("\n", grown));
        var under = Over.Where(o => !sizes.TryGetValue(o.Key, out var t) || t.Lines <= MaxLines)
            .Select(o => sizes.TryGetValue(o.Key, out var t) ? Describe(t) : $"{o.Key}: gone")
            .ToList();
        Assert.True(under.Count == 0, "Types on the over-the-limit list that are within it now (remove them from Over):\n" + string.Join("\n", under));
    }

    [Theory]
    [InlineData("src/AkshareWeb.Features")]
    [InlineData("src/AkshareWeb.Api")]
    public void No_source_file_is_over_400_lines(string folder)
    {
        Assert.Contains(folder, SourceCode.Projects);
        var tooLong = SourceCode.Files
            .Where(f => f.Path.StartsWith(folder + "/", StringComparison.Ordinal) && f.Lines > MaxLines)
            .Select(f => $"{f.Path}: {f.Lines} lines")
            .ToList();
        Assert.True(tooLong.Count == 0, $"Files over {MaxLines} lines (split them by job):\n" + string.Join("\n", tooLong));
    }

    [Fact]
    public void The_rule_counts_every_project_and_sums_partial_types()
    {
        var sizes = Sizes();
        // A project read from nowhere, or partial files counted one by one, would make the rules above pass for nothing.
        string[] projects = ["AkshareWeb.Features.", "AkshareWeb.Api.", "AkshareWeb.Hangfire.MySql."];
        Assert.All(projects, prefix => Assert.Contains(sizes, t => t.Name.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.Contains(sizes, t => t.Files.Length > 1);
        Assert.DoesNotContain(sizes, t => t.Lines <= 0);
    }

    [Fact]
    public void The_largest_types_are_written_to_the_log()
    {
        foreach (var type in Sizes().OrderByDescending(t => t.Lines).ThenBy(t => t.Name, StringComparer.Ordinal).Take(10))
        {
            output.WriteLine(Describe(type));
        }
    }

    private static string Describe((string Name, int Lines, string[] Files) type) =>
        $"{type.Name}: {type.Lines} lines in {type.Files.Length} file(s) ({string.Join(", ", type.Files)})";

    /// <summary>Each top-level type with its lines summed over the files that declare it.</summary>
    private static List<(string Name, int Lines, string[] Files)> Sizes() =>
        SourceCode.Files
            .SelectMany(f => f.TopLevelTypes().Select(t => (t.Name, t.Lines, f.Path)))
            .GroupBy(t => t.Name, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Lines: g.Sum(t => t.Lines), Files: g.Select(t => t.Path).Distinct(StringComparer.Ordinal).ToArray()))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
}
