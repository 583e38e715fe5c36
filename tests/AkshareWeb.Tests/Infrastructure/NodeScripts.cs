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

    /// <summary>Runs node with the arguments; a script still running after <paramref name="timeout"/> is killed and fails the test.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string workingDirectory, IEnumerable<string> arguments, IDictionary<string, string> environment, TimeSpan timeout)
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
        try
        {
            await node.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"node {string.Join(' ', arguments)} did not end within {timeout}: {await output}{await errors}");
        }

        return (node.ExitCode, await output + await errors);
    }
}
