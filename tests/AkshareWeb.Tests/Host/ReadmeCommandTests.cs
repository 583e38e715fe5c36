using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Scripts;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// What a reader of the README has: the service on a port, the repository's data scripts and the bundled AKShare
/// registry, and an AKTools (the fake) that has daily bars of any symbol and the A-share code list.
/// </summary>
public sealed class ReadmeApp : LibraryApp
{
    public static readonly (string Code, string Name)[] Codes =
        [("000001", "平安银行"), ("000002", "万科Ａ"), ("600000", "浦发银行"), ("600036", "招商银行"), ("600519", "贵州茅台")];

    public ReadmeApp() => UseKestrel(0);

    public Uri BaseAddress { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AkTools.Rows("stock_zh_a_hist", Bars);
        AkTools.Rows("stock_info_a_code_name", Codes.Select(c => (object)new Dictionary<string, object?> { ["code"] = c.Code, ["name"] = c.Name }).ToArray());
        BaseAddress = StartOnLoopback();
    }

    /// <summary>A bar for each weekday of the window asked (AKShare's own defaults when none is), at most 100.</summary>
    private static IEnumerable<object> Bars(IQueryCollection query)
    {
        static DateOnly Day(string? text, DateOnly otherwise) =>
            DateOnly.TryParseExact(text, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : otherwise;
        var from = Day(query["start_date"], new DateOnly(2024, 1, 1));
        var to = Day(query["end_date"], from.AddDays(30));
        var count = 0;
        for (var day = from; day <= to && count < 100; day = day.AddDays(1))
        {
            if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) continue;
            yield return TestScripts.Bar(query["symbol"].ToString(), day, 10 + (count++ * 0.1));
        }
    }
}

/// <summary>
/// Every curl command of README.md, read from the file at test time, runs as a user runs it: through bash and the real
/// curl, in the file's order, in one shell, the variables the commands set (the token, an execution's id) feeding the
/// commands after them, BASE pointing at this service. Each must be answered 2xx: the README shows none of them
/// failing. Commands only the reader can complete (a value written …) are named in the output, not run.
/// </summary>
public sealed partial class ReadmeCommandTests(ReadmeApp app, ITestOutputHelper output) : IClassFixture<ReadmeApp>
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Every_curl_command_of_the_readme_succeeds_when_pasted_in_order()
    {
        foreach (var tool in new[] { "curl", "python3" })
        {
            var (found, _, _) = await BashAsync($"command -v {tool}", TimeSpan.FromSeconds(30));
            Assert.True(found == 0, $"{tool} is not installed, and the README's commands run through it: install it (apt-get install {tool}; scripts/test.sh does so when it runs as root)");
        }

        var commands = ReadmeCommands.Read(await File.ReadAllTextAsync(Path.Combine(Library.Root, "README.md")));
        var run = commands.Where(c => c.NotRun is null).ToList();
        foreach (var skipped in commands.Where(c => c.NotRun is not null)) output.WriteLine($"not run, README.md:{skipped.Line} {skipped.FirstLine}: {skipped.NotRun}");
        Assert.True(run.Count >= 20, $"only {run.Count} commands found in README.md's bash blocks: the reading of the file is broken");

        var script = new StringBuilder("""
            curl() { command curl -q --max-time 60 -w '%{stderr}\n@@status %{http_code} %{method} %{url_effective}\n' "$@"; }

            """);
        for (var i = 0; i < run.Count; i++)
        {
            script.Append(CultureInfo.InvariantCulture, $"printf '\\n@@command {i}\\n'; printf '\\n@@command {i}\\n' >&2\n")
                .Append(run[i].Text).Append('\n')
                .Append(CultureInfo.InvariantCulture, $"printf '\\n@@exit {i} %d\\n' \"$?\" >&2\n");
        }

        var (code, stdout, stderr) = await BashAsync(script.ToString(), Patience);
        var outputs = Sections(stdout);
        var reports = Sections(stderr);
        var failures = new List<string>();
        for (var i = 0; i < run.Count; i++)
        {
            var report = reports.GetValueOrDefault(i, "");
            var statuses = StatusLine().Matches(report).Select(m => (Status: int.Parse(m.Groups["status"].Value, CultureInfo.InvariantCulture), Request: m.Groups["request"].Value)).ToList();
            var exit = ExitLine().Match(report) is { Success: true } e ? int.Parse(e.Groups["code"].Value, CultureInfo.InvariantCulture) : (int?)null;
            output.WriteLine($"README.md:{run[i].Line} {run[i].FirstLine}\n    -> {string.Join(", ", statuses.Select(s => $"{s.Status} {s.Request}"))}, exit {exit?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
            if (exit == 0 && statuses.Count > 0 && statuses.All(s => s.Status is >= 200 and < 300)) continue;
            failures.Add($"README.md:{run[i].Line}: {run[i].Text}\n  answered {string.Join(", ", statuses.Select(s => $"{s.Status} for {s.Request}"))}"
                + $"{(statuses.Count == 0 ? "nothing (curl never ran)" : "")}; exit {exit?.ToString(CultureInfo.InvariantCulture) ?? "none (the shell stopped before it ended)"}\n"
                + $"  output: {Tail(outputs.GetValueOrDefault(i, ""))}\n  errors: {Tail(StatusLine().Replace(ExitLine().Replace(report, ""), ""))}");
        }

        Assert.True(failures.Count == 0 && code == 0,
            $"{failures.Count} of {run.Count} README commands failed (bash exited {code}):\n\n" + string.Join("\n\n", failures));
    }

    [Fact]
    public void Commands_are_split_as_bash_splits_them_and_templates_are_left_to_the_reader()
    {
        var commands = ReadmeCommands.Read("""
            # Title

            ```bash
            BASE=http://localhost:8000
            # a comment
            curl -s "$BASE/a" \
              -d '{"x": 1,
                   "y": "#not a comment"}'   # a comment after it
            ID=$(curl -s "$BASE/b" -d "{\"z\": \"(\"}" \
              | python3 -c 'print(1)')
            CHANNEL=$(curl -s "$BASE/c" -d '{"url": "https://example.com/…"}')
            curl -s "$BASE/c/$CHANNEL/test"
            read -r A B < <(curl -s "$BASE/d")
            ```

            ```bash
            scripts/run.sh
            ```

               ```bash
               curl -s "$BASE/e/$ID"
               ```
            """);
        Assert.Equal(new[] { 4, 6, 9, 11, 12, 13, 21 }, commands.Select(c => c.Line));
        Assert.Equal(new[] { true, false, false, true, true, false, false }, commands.Select(c => c.NotRun is not null));
        Assert.Equal("curl -s \"$BASE/a\" \\\n  -d '{\"x\": 1,\n       \"y\": \"#not a comment\"}'", commands[1].Text);
        Assert.StartsWith("reads $CHANNEL", commands[4].NotRun, StringComparison.Ordinal);
        Assert.Equal("curl -s \"$BASE/e/$ID\"", commands[6].Text);
    }

    /// <summary>The text after each "@@command i" marker, by i.</summary>
    private static Dictionary<int, string> Sections(string text)
    {
        var sections = new Dictionary<int, string>();
        var parts = CommandMarker().Split(text);
        // Split with a captured group: text, index, text, index, text, ...
        for (var p = 1; p + 1 < parts.Length; p += 2) sections[int.Parse(parts[p], CultureInfo.InvariantCulture)] = parts[p + 1];
        return sections;
    }

    private static string Tail(string text) => text.Trim() is { Length: > 600 } trimmed ? "…" + trimmed[^600..] : text.Trim();

    private async Task<(int Code, string Stdout, string Stderr)> BashAsync(string script, TimeSpan patience)
    {
        var folder = Directory.CreateTempSubdirectory("aw-readme-");
        try
        {
            var file = Path.Combine(folder.FullName, "readme.sh");
            await File.WriteAllTextAsync(file, script);
            var start = new ProcessStartInfo("bash")
            {
                ArgumentList = { "--noprofile", "--norc", file },
                WorkingDirectory = folder.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            start.Environment["BASE"] = app.BaseAddress.GetLeftPart(UriPartial.Authority);
            start.Environment["LANG"] = "C.UTF-8";
            // The service is on loopback: no proxy of the machine's stands between.
            foreach (var proxy in new[] { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" }) start.Environment.Remove(proxy);
            start.Environment["no_proxy"] = "*";
            using var bash = Process.Start(start)!;
            var stdout = bash.StandardOutput.ReadToEndAsync();
            var stderr = bash.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(patience);
            try
            {
                await bash.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                bash.Kill(entireProcessTree: true);
                await bash.WaitForExitAsync();
                Assert.Fail($"the README's commands did not end within {patience.TotalMinutes} minutes; so far:\n{Tail(await stdout)}\n{Tail(await stderr)}");
            }

            return (bash.ExitCode, await stdout, await stderr);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"^@@command (\d+)\n", RegexOptions.Multiline)]
    private static partial Regex CommandMarker();

    [GeneratedRegex(@"^@@status (?<status>\d{3}) (?<request>.*)$\n?", RegexOptions.Multiline)]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"^@@exit \d+ (?<code>\d+)$\n?", RegexOptions.Multiline)]
    private static partial Regex ExitLine();
}
