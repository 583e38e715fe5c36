using System.Diagnostics;
using System.Globalization;
using System.Text;
using AkshareWeb.Tests.Infrastructure;
using Xunit.Sdk;

namespace AkshareWeb.Console.Tests;

/// <summary>
/// One Node process (console/e2e/run.mjs --serve) and its Chromium for a test class's scenarios, each sent as a line on
/// its stdin and run in turn: starting Node and Chromium cost more CPU than some scenarios do. A scenario's verdict is
/// its end line ("@@end name 0|1"), and what it printed before that line is its output. A process that dies or hangs
/// fails the test it was running with what it had said, and the next scenario starts a new one.
/// </summary>
public sealed class ScenarioRunner : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    private readonly StringBuilder errors = new();
    private Process? node;
    private string startedWith = "";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task RunAsync(string scenario, Uri service, IReadOnlyDictionary<string, string>? more = null)
    {
        var environment = ConsoleScenario.EnvironmentFor(service, more);
        var key = string.Join('\n', environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));
        // A process that died after its last scenario had ended (a crash in what that scenario left running) is not
        // passed over: this test runs in a new one, and fails saying so.
        var diedBefore = node is { HasExited: true } dead
            ? $"the Node process ended (exit {dead.ExitCode.ToString(CultureInfo.InvariantCulture)}) after the previous scenario had ended:\n{Errors()}"
            : null;
        if (node is null || node.HasExited || key != startedWith)
        {
            await StopAsync();
            Start(environment);
            startedWith = key;
        }

        var process = node!;
        lock (errors) errors.Clear();
        await process.StandardInput.WriteLineAsync(scenario);
        await process.StandardInput.FlushAsync();

        var said = new StringBuilder();
        var end = $"@@end {scenario} ";
        string? verdict = null;
        using var limit = new CancellationTokenSource(Limit);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(limit.Token) is { } line)
            {
                if (line.StartsWith(end, StringComparison.Ordinal))
                {
                    verdict = line[end.Length..];
                    break;
                }

                said.AppendLine(line);
            }
        }
        catch (OperationCanceledException)
        {
            await StopAsync();
            throw new XunitException($"scenario {scenario} did not end within {Limit}:\n{said}{Errors()}");
        }

        if (verdict is null)
        {
            // Its stderr (a crash's stack) is read to the end once it has exited.
            await process.WaitForExitAsync(CancellationToken.None);
            throw new XunitException($"node ended (exit {process.ExitCode.ToString(CultureInfo.InvariantCulture)}) during scenario {scenario}:\n{said}{Errors()}");
        }

        Assert.True(verdict == "0", $"scenario {scenario} failed:\n{said}{Errors()}");
        Assert.Contains($"scenario {scenario}: passed", said.ToString(), StringComparison.Ordinal);
        Assert.True(diedBefore is null, $"scenario {scenario} passed, but {diedBefore}");
    }

    private void Start(IReadOnlyDictionary<string, string> environment)
    {
        var console = Path.Combine(NodeScripts.RepositoryRoot(), "console");
        var start = new ProcessStartInfo("node", [Path.Combine(console, "e2e", "run.mjs"), "--serve"])
        {
            WorkingDirectory = console,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // No byte-order mark before the first scenario's name.
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var process = new Process { StartInfo = start };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (errors) errors.AppendLine(e.Data);
        };
        process.Start();
        process.BeginErrorReadLine();
        node = process;
    }

    private string Errors()
    {
        lock (errors) return errors.Length == 0 ? "" : $"(stderr)\n{errors}";
    }

    /// <summary>Ends the process: stdin closed, it closes Chromium and exits; one that does not within 30 s is killed with its Chromium.</summary>
    private async Task StopAsync()
    {
        if (node is null) return;
        var process = node;
        node = null;
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.Close();
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    public Task DisposeAsync() => StopAsync();
}
