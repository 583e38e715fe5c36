// Checks every data script against the bundled snapshot of AKShare's registry (DataScriptLinter's rules) and
// prints one line per problem, "<file>: <problem>", then "N scripts, M clean, K problems". Exit code 1 when
// there is any problem, 2 when the folder is missing.
//   dotnet run --project tools/AkshareWeb.ScriptLint -- [data-scripts folder]
using AkshareWeb.Features.Interfaces;
using AkshareWeb.Features.Scripts;

var folder = args.Length > 0 ? Path.GetFullPath(args[0]) : FindFolder(Directory.GetCurrentDirectory());
if (folder is null || !Directory.Exists(folder))
{
    await Console.Error.WriteLineAsync("no data-scripts folder: give its path");
    return 2;
}

var snapshot = RegistrySnapshot.Load();
int scripts = 0, clean = 0, problems = 0;
foreach (var file in Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
{
    var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
    var parts = relative.Split('/');
    scripts++;
    IReadOnlyList<string> found;
    if (parts.Length != 3)
    {
        found = ["a data script lives at <category>/<frequency>/<script_id>.json"];
    }
    else
    {
        var (script, errors) = DataScriptFiles.Parse(await File.ReadAllTextAsync(file), parts[0], parts[1], Path.GetFileNameWithoutExtension(parts[2]));
        found = script is null ? errors : DataScriptLinter.Lint(script, snapshot);
    }

    foreach (var problem in found) Console.WriteLine($"{relative}: {problem}");
    problems += found.Count;
    if (found.Count == 0) clean++;
}

Console.WriteLine($"{scripts} scripts, {clean} clean, {problems} problems (checked against AKShare {snapshot.AkshareVersion})");
return problems > 0 ? 1 : 0;

static string? FindFolder(string start)
{
    for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
    {
        var candidate = Path.Combine(directory.FullName, "data-scripts");
        if (Directory.Exists(candidate)) return candidate;
    }

    return null;
}
