using AkshareWeb.Features.Scripts;
using AkshareWeb.Tests.Host;

namespace AkshareWeb.Tests.Scripts;

/// <summary>The data-scripts/ folder the project ships: every file valid, and wide enough to start with.</summary>
public sealed class StarterLibraryTests
{
    [Fact]
    public void Every_shipped_data_script_is_valid_and_the_library_covers_every_category()
    {
        var folder = Path.Combine(OpenApiDocumentTests.RepositoryRoot(), "data-scripts");
        var scripts = new List<DataScriptDefinition>();
        var problems = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories))
        {
            var parts = Path.GetRelativePath(folder, file).Split(Path.DirectorySeparatorChar);
            var (script, errors) = DataScriptFiles.Parse(File.ReadAllText(file), parts[0], parts[1], Path.GetFileNameWithoutExtension(file));
            if (script is null) problems.Add($"{file}: {string.Join("; ", errors)}");
            else scripts.Add(script);
        }

        Assert.Empty(problems);
        Assert.True(scripts.Count >= 30, $"only {scripts.Count} scripts");
        Assert.Equal(scripts.Count, scripts.Select(s => s.Id).Distinct().Count());
        foreach (var category in new[] { "stocks", "funds", "futures", "indexes", "options", "bonds", "macro" })
        {
            Assert.True(scripts.Count(s => s.Category == category) >= 3, $"fewer than 3 scripts in {category}");
        }

        // Upserts of per-symbol data must carry the symbol in the key, or two symbols' rows would collide.
        foreach (var script in scripts.Where(s => s.WriteMode == "upsert" && s.Parameters.Any(p => p.Name == "symbol" && p.Required)))
        {
            Assert.True(script.KeyColumns.Count >= 2, $"{script.Id}: key {string.Join(",", script.KeyColumns)}");
        }
    }
}
