using System.Diagnostics;

namespace AkshareWeb.Client.Tests;

/// <summary>
/// clients/typescript's flow (src/flow.ts: the openapi-typescript types and openapi-fetch calls) run by Node against
/// this service. scripts/test.sh installs and compiles it before the tests; its exit code is the verdict.
/// </summary>
public sealed class TypeScriptClientFlowTests(ServiceOnLoopback service) : IClassFixture<ServiceOnLoopback>
{
    [Fact]
    public async Task The_typescript_client_logs_in_registers_downloads_pages_and_exports()
    {
        var folder = Path.Combine(RepositoryRoot(), "clients", "typescript");
        var script = Path.Combine(folder, "dist", "flow.js");
        Assert.True(File.Exists(script), $"{script} is missing: run `npm ci && npm run build` in clients/typescript (scripts/test.sh does)");

        var start = new ProcessStartInfo("node", [script])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["AKSHAREWEB_URL"] = service.BaseAddress.ToString().TrimEnd('/'),
                ["AKSHAREWEB_ADMIN_PASSWORD"] = ServiceOnLoopback.AdminPassword,
                ["AKSHAREWEB_SCRIPT"] = ServiceOnLoopback.Interface,
                ["AKSHAREWEB_SYMBOL"] = "000001",
            },
        };
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        // The flow's end, however long a loaded machine takes: it waits for its download's end itself. While it is
        // long in coming, what the service's database says is written down each minute (a hang leaves its story).
        var exited = node.WaitForExitAsync();
        while (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(1))) != exited)
        {
            await ServiceOnLoopback.LogAsync($"TypeScript flow still running:\n{await service.SnapshotAsync()}");
        }
        var said = await output + await errors;
        Assert.True(node.ExitCode == 0, $"node {script} exited {node.ExitCode}: {said}");
        Assert.Contains($"{ServiceOnLoopback.BarsPerDownload} rows of ak_{ServiceOnLoopback.Interface} paged", said, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AkshareWeb.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("AkshareWeb.sln not found above the test binaries");
    }
}
