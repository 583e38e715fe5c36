using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Scripts;

/// <summary>The app with the repository's own data-script library and the bundled registry snapshot.</summary>
public class LibraryApp : CollectingApp
{
    public LibraryApp()
    {
        Set("DataScripts:Path", Library.Folder);
        Set("Catalog:RegistryPath", "");
    }
}

/// <summary>
/// The library as the tests see it: each script file, the columns its function returns (the script's
/// output_columns, else the bundled registry's outputs) and rows made from them the way AKTools would send them.
/// </summary>
public static class Library
{
    public static string Root { get; } = FindRoot();

    public static string Folder => Path.Combine(Root, "data-scripts");

    public static IReadOnlyList<string> Files { get; } = Directory.GetFiles(Folder, "*.json", SearchOption.AllDirectories)
        .Where(f => Path.GetRelativePath(Folder, f).Count(c => c == Path.DirectorySeparatorChar) == 2)
        .OrderBy(f => f, StringComparer.Ordinal).ToList();

    private static readonly Lazy<Dictionary<string, JsonElement>> Registry = new(() =>
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "src", "AkshareWeb.Features", "Interfaces", "Registry", "akshare-interfaces.json")));
        return document.RootElement.GetProperty("interfaces").EnumerateArray().ToDictionary(i => i.GetProperty("name").GetString()!, i => i.Clone());
    });

    /// <summary>The scripts of one shard; every script of an interface is in the same shard, so one fake answer serves it at a time.</summary>
    public static TheoryData<string> Shard(int shard, int of)
    {
        var data = new TheoryData<string>();
        foreach (var file in Files)
        {
            using var script = JsonDocument.Parse(File.ReadAllText(file));
            var function = script.RootElement.GetProperty("interface").GetString()!;
            if (function.Aggregate(17u, (h, c) => unchecked((h * 31) + c)) % of == shard) data.Add(Path.GetRelativePath(Folder, file));
        }

        return data;
    }

    public static IReadOnlyList<(string Name, string Type)> Outputs(JsonElement script)
    {
        var list = script.TryGetProperty("output_columns", out var own) && own.ValueKind == JsonValueKind.Array
            ? own
            : Registry.Value[script.GetProperty("interface").GetString()!].GetProperty("outputs");
        return list.EnumerateArray()
            .Select(o => (o.GetProperty("name").GetString()!, o.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "object"))
            .ToList();
    }

    /// <summary>
    /// Three rows of the function's columns: every column differs from row to row, a column that carries a
    /// parameter's value (<c>column</c>) holds the value AKShare received.
    /// </summary>
    public static IEnumerable<object> Rows(JsonElement script, IQueryCollection received)
    {
        var carried = script.GetProperty("parameters").EnumerateArray()
            .Where(p => p.TryGetProperty("column", out var c) && c.ValueKind == JsonValueKind.String)
            .ToDictionary(p => p.GetProperty("column").GetString()!, p => p.GetProperty("name").GetString()!);
        var outputs = Outputs(script);
        for (var i = 0; i < 3; i++)
        {
            var row = new Dictionary<string, object?>();
            foreach (var (name, type) in outputs)
            {
                row[name] = carried.TryGetValue(name, out var parameter) ? received[parameter].ToString() : Value(name, type, i);
            }

            yield return row;
        }
    }

    private static object Value(string name, string type, int i) => type switch
    {
        _ when type.StartsWith("int", StringComparison.Ordinal) => 100 + i,
        _ when type.StartsWith("float", StringComparison.Ordinal) => 10.25 + i,
        _ when type.StartsWith("datetime", StringComparison.Ordinal) => new DateOnly(2024, 1, 2).AddDays(i),
        "bool" => i % 2 == 0,
        _ => $"{name}-{i}",
    };

    /// <summary>Values for a task: the defaults, with a value for each required parameter that has none.</summary>
    public static Dictionary<string, object> FirstParameters(JsonElement script)
    {
        var values = new Dictionary<string, object>();
        foreach (var p in script.GetProperty("parameters").EnumerateArray())
        {
            var hasDefault = p.TryGetProperty("default", out var d) && d.ValueKind != JsonValueKind.Null;
            if (!hasDefault) values[p.GetProperty("name").GetString()!] = Made(p, 1);
        }

        return values;
    }

    /// <summary>The first values with every key parameter changed: rows that mean something else.</summary>
    public static Dictionary<string, object>? SecondParameters(JsonElement script)
    {
        var values = FirstParameters(script);
        var changed = false;
        foreach (var p in script.GetProperty("parameters").EnumerateArray())
        {
            if (p.TryGetProperty("role", out var role) && role.GetString() == "range") continue;
            var name = p.GetProperty("name").GetString()!;
            var current = values.TryGetValue(name, out var given) ? given.ToString()
                : p.TryGetProperty("default", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : d.ToString();
            if (p.TryGetProperty("allowed", out var allowed) && allowed.ValueKind == JsonValueKind.Array)
            {
                var other = allowed.EnumerateArray().Select(a => a.ToString()).FirstOrDefault(a => a != current);
                if (other is null) continue;
                values[name] = other;
            }
            else
            {
                values[name] = Made(p, 2);
            }

            changed = true;
        }

        return changed ? values : null;
    }

    private static object Made(JsonElement parameter, int n)
    {
        var type = parameter.TryGetProperty("type", out var t) ? t.GetString() : "string";
        return type switch
        {
            "date" => new DateOnly(2024, 3, 4).AddDays(n).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "int" => n,
            "float" => n + 0.5,
            "bool" => n % 2 == 0,
            _ => $"X{n}",
        };
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AkshareWeb.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException("the repository root (AkshareWeb.sln) was not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>
/// Every data script of the library, end to end through the service and the faithful fake: it is registered whole
/// and not broken; its first run writes the rows; a re-run adds none; a run with other values of its key
/// parameters keeps its rows apart from the first ones.
/// </summary>
public abstract class LibraryScriptsTests(LibraryApp app)
{
    protected async Task RunsTwiceWithoutDuplicatesAndKeepsOtherParametersApart(string file)
    {
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Library.Folder, file)));
        var script = document.RootElement;
        var id = script.GetProperty("id").GetString()!;
        var table = script.GetProperty("target_table").GetString()!;
        var function = script.GetProperty("interface").GetString()!;
        var admin = await app.AdminAsync();

        var view = (await (await admin.GetAsync($"/api/scripts/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.False(view["broken"]?.GetValue<bool>() ?? false, view.ToJsonString());
        Assert.True(view["is_active"]?.GetValue<bool>() ?? true, view.ToJsonString());

        if (table == TradingCalendar.Table)
        {
            // The calendar's table takes only an answer about as long as the calendar in force (three rows are refused,
            // GetTradingDaysTests): Sina's whole list, replaced by the same list.
            app.AkTools.Rows(function, CalendarSnapshot.Days.All.Select(d => (object)new Dictionary<string, object?> { ["trade_date"] = d }).ToArray());
            foreach (var _ in new[] { 1, 2 })
            {
                var replaced = await RunAsync(admin, id, Library.FirstParameters(script));
                Assert.True(replaced["status"]!.GetValue<string>() == "completed", $"{file}: {replaced.ToJsonString()}");
                Assert.Equal(CalendarSnapshot.Days.Count, await CountAsync(table));
            }

            return;
        }

        var clone = script.Clone();
        app.AkTools.Rows(function, q => Library.Rows(clone, q));

        // Three rows that differ in every column the answer carries; a key made only of constant columns (the
        // extra columns and those carrying a parameter, e.g. one summary row per date) keeps one of them.
        var constant = script.GetProperty("parameters").EnumerateArray()
            .Where(p => p.TryGetProperty("column", out var c) && c.ValueKind == JsonValueKind.String).Select(p => p.GetProperty("column").GetString()!)
            .Concat(script.TryGetProperty("extra_columns", out var extras) ? extras.EnumerateObject().Select(e => e.Name) : [])
            .ToHashSet();
        var keys = script.TryGetProperty("key_columns", out var k) ? k.EnumerateArray().Select(c => c.GetString()!).ToList() : [];
        var perRun = script.GetProperty("write_mode").GetString() == "upsert" && keys.All(constant.Contains) ? 1 : 3;

        var first = Library.FirstParameters(script);
        var run = await RunAsync(admin, id, first);
        Assert.True(run["status"]!.GetValue<string>() == "completed", $"{file}: {run.ToJsonString()}");
        Assert.Equal(3, run["rows_fetched"]!.GetValue<long>());
        Assert.Equal(perRun, await CountAsync(table));

        var again = await RunAsync(admin, id, first);
        Assert.True(again["status"]!.GetValue<string>() == "completed", $"{file}: {again.ToJsonString()}");
        Assert.Equal(perRun, await CountAsync(table));

        if (Library.SecondParameters(script) is { } second && script.GetProperty("write_mode").GetString() != "replace")
        {
            var other = await RunAsync(admin, id, second);
            Assert.True(other["status"]!.GetValue<string>() == "completed", $"{file}: {other.ToJsonString()}");
            Assert.True(await CountAsync(table) == 2 * perRun, $"{file}: a run with other key values ({JsonSerializer.Serialize(second)}) replaced rows of the first");
        }
    }

    private async Task<JsonNode> RunAsync(HttpClient admin, string scriptId, Dictionary<string, object> parameters)
    {
        var task = await admin.CreateAsync(new
        {
            name = "library " + scriptId,
            script_id = scriptId,
            schedule_type = "once",
            schedule_expression = "2099-01-01T00:00:00+08:00",
            parameters,
            retry_on_failure = false,
            max_retries = 0,
        });
        var started = (await (await admin.PostAsync($"/api/tasks/{task["id"]}/execute", null)).ExpectAsync(200, 0))["data"]!;
        return await app.WaitForEndAsync(admin, started["execution_id"]!.GetValue<string>());
    }

    private async Task<long> CountAsync(string table)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM `{table}`");
    }
}

public sealed class LibraryRegistrationTests(LibraryApp app) : IClassFixture<LibraryApp>
{
    [Fact]
    public async Task Every_file_of_the_library_is_registered_and_none_is_broken()
    {
        var admin = await app.AdminAsync();
        var scan = (await (await admin.PostAsync("/api/scripts/scan", null)).ExpectAsync(200, 0))["data"]!;
        Assert.True(scan["errors"]!.AsArray().Count == 0, scan["errors"]!.ToJsonString());
        Assert.True(Library.Files.Count >= 150, $"{Library.Files.Count} scripts");

        var seen = new List<JsonNode>();
        for (var page = 1; ; page++)
        {
            var data = (await (await admin.GetAsync($"/api/scripts/?page={page}&page_size=100")).ExpectAsync(200, 0))["data"]!;
            seen.AddRange(data["items"]!.AsArray().Select(i => i!));
            if (page >= data["total_pages"]!.GetValue<int>()) break;
        }

        var ids = Library.Files.Select(Path.GetFileNameWithoutExtension).ToHashSet();
        Assert.Equal(ids.Order(), seen.Select(s => s["script_id"]!.GetValue<string>()).Where(ids.Contains).Order());
        Assert.Empty(seen.Where(s => s["broken"]?.GetValue<bool>() == true).Select(s => s.ToJsonString()));
    }
}

public sealed class LibraryScriptsShard0(LibraryApp app) : LibraryScriptsTests(app), IClassFixture<LibraryApp>
{
    public static TheoryData<string> Scripts => Library.Shard(0, 4);

    [Theory]
    [MemberData(nameof(Scripts))]
    public Task Runs(string file) => RunsTwiceWithoutDuplicatesAndKeepsOtherParametersApart(file);
}

public sealed class LibraryScriptsShard1(LibraryApp app) : LibraryScriptsTests(app), IClassFixture<LibraryApp>
{
    public static TheoryData<string> Scripts => Library.Shard(1, 4);

    [Theory]
    [MemberData(nameof(Scripts))]
    public Task Runs(string file) => RunsTwiceWithoutDuplicatesAndKeepsOtherParametersApart(file);
}

public sealed class LibraryScriptsShard2(LibraryApp app) : LibraryScriptsTests(app), IClassFixture<LibraryApp>
{
    public static TheoryData<string> Scripts => Library.Shard(2, 4);

    [Theory]
    [MemberData(nameof(Scripts))]
    public Task Runs(string file) => RunsTwiceWithoutDuplicatesAndKeepsOtherParametersApart(file);
}

public sealed class LibraryScriptsShard3(LibraryApp app) : LibraryScriptsTests(app), IClassFixture<LibraryApp>
{
    public static TheoryData<string> Scripts => Library.Shard(3, 4);

    [Theory]
    [MemberData(nameof(Scripts))]
    public Task Runs(string file) => RunsTwiceWithoutDuplicatesAndKeepsOtherParametersApart(file);
}
