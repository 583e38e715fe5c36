using System.Diagnostics;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>A Node script a test runs against the service (a generated client's flow, a browser scenario): its exit code and output are the verdict.</summary>
public static class NodeScripts
{
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AkshareWeb.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("AkshareWeb.sln not found above the test binaries");
    }

    /// <summary>
    /// Runs node with the arguments; a script still running after <paramref name="timeout"/> (infinite for one that ends
    /// itself however long a loaded machine takes) is killed and fails the test. <paramref name="eachMinute"/> is called
    /// each minute it is still running, so a hang leaves its story.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string workingDirectory, IEnumerable<string> arguments, IDictionary<string, string> environment, TimeSpan timeout,
        Func<Task>? eachMinute = null)
    {
        var start = new ProcessStartInfo("node", arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        var exited = node.WaitForExitAsync(limit.Token);
        try
        {
            while (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(1), CancellationToken.None)) != exited)
            {
                if (eachMinute is not null) await eachMinute();
            }

            await exited;
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"node {string.Join(' ', arguments)} did not end within {timeout}: {await output}{await errors}");
        }

        return (node.ExitCode, await output + await errors);
    }
}
