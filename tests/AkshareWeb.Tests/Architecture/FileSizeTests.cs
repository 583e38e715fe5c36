namespace AkshareWeb.Tests.Architecture;

/// <summary>A source file past 400 lines does several jobs; the rule keeps the service's code readable file by file.</summary>
public sealed class FileSizeTests
{
    private const int MaxLines = 400;

    [Theory]
    [InlineData("src/AkshareWeb.Features")]
    [InlineData("src/AkshareWeb.Api")]
    public void No_source_file_is_over_400_lines(string folder)
    {
        var root = Path.Combine(RepositoryRoot(), folder);
        Assert.True(Directory.Exists(root), $"{root} does not exist");
        var tooLong = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(root, f))
            .Select(f => (File: Path.GetRelativePath(RepositoryRoot(), f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxLines)
            .OrderBy(f => f.File, StringComparer.Ordinal)
            .Select(f => $"{f.File}: {f.Lines} lines")
            .ToList();
        Assert.True(tooLong.Count == 0, $"Files over {MaxLines} lines (split them by job):\n" + string.Join("\n", tooLong));
    }

    private static bool IsBuildOutput(string root, string file)
    {
        var first = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar)[0];
        return first is "bin" or "obj";
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AkshareWeb.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException("AkshareWeb.sln not found above " + AppContext.BaseDirectory);
    }
}
