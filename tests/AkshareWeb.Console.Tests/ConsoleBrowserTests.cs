using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Console.Tests;

/// <summary>
/// The console as a person uses it, in Chromium: each test runs one scenario of console/e2e/run.mjs (Playwright)
/// against this service, in the class's one Node process and Chromium (<see cref="ScenarioRunner"/>), and takes the
/// scenario's verdict. Every scenario fails on an error in the browser's
/// console, on an axe-core violation of serious or critical impact on any view it opens, and saves a screenshot of
/// each view, in Chinese and in English, under .data/test-results/console/. scripts/test.sh builds the console and
/// installs the Node packages and Chromium first.
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleApp service, ScenarioRunner runner) : IClassFixture<ConsoleApp>, IClassFixture<ScenarioRunner>
{
    [Fact]
    public Task Signing_in_reloading_registering_and_signing_out() => RunAsync("auth");

    [Fact]
    public Task Testing_a_script_and_watching_a_download_complete_live() => RunAsync("collect");

    [Fact]
    public Task Browsing_a_table_with_a_filter_charting_and_exporting_it() => RunAsync("tables");

    [Fact]
    public Task Creating_a_task_with_its_next_fire_times_and_running_pausing_and_deleting_it() => RunAsync("tasks");

    [Fact]
    public Task A_parted_run_shows_its_parts_and_retries_the_failed_ones() => RunAsync("parts");

    [Fact]
    public Task A_tables_coverage_with_the_keys_missing_days() => RunAsync("coverage");

    [Fact]
    public Task Home_and_the_admin_pages() => RunAsync("admin");

    [Fact]
    public Task Notification_channels_created_tested_edited_and_deleted_and_their_deliveries() => RunAsync("notifications");

    [Fact]
    public Task Under_a_path_prefix_and_within_the_size_budget() => RunAsync("prefix");

    private async Task RunAsync(string scenario)
    {
        await runner.RunAsync(scenario, service.BaseAddress, new Dictionary<string, string>
        {
            ["AKSHAREWEB_PATH_BASE"] = ConsoleApp.PathBase,
            ["AKTOOLS_URL"] = service.AkToolsUrl.TrimEnd('/'),
            ["RECEIVER_URL"] = service.Receiver.BaseUrl.TrimEnd('/'),
        });
        service.AkTools.AssertNoViolations();
    }
}

/// <summary>Runs one scenario of console/e2e/run.mjs against a service, in a Node process of its own, and takes its exit code as the verdict.</summary>
public static class ConsoleScenario
{
    public static async Task RunAsync(string scenario, Uri service, IReadOnlyDictionary<string, string>? more = null)
    {
        var environment = EnvironmentFor(service, more);
        var root = NodeScripts.RepositoryRoot();
        var (exitCode, said) = await NodeScripts.RunAsync(Path.Combine(root, "console"), [Path.Combine(root, "console", "e2e", "run.mjs"), scenario], environment, TimeSpan.FromMinutes(5));
        Assert.True(exitCode == 0, $"scenario {scenario} failed (exit {exitCode}):\n{said}");
        Assert.Contains($"scenario {scenario}: passed", said, StringComparison.Ordinal);
    }

    /// <summary>What a scenario is run with: the service, the admin's password, where screenshots go; after checking that the console is built.</summary>
    public static Dictionary<string, string> EnvironmentFor(Uri service, IReadOnlyDictionary<string, string>? more)
    {
        var root = NodeScripts.RepositoryRoot();
        Assert.True(File.Exists(Path.Combine(root, "console", "dist", "index.html")), "console/dist is not built: run `npm ci && npm run build` in console/ (scripts/test.sh does)");
        Assert.True(Directory.Exists(Path.Combine(root, "console", "node_modules", "playwright-core")), "console/node_modules is missing: run `npm ci` in console/ (scripts/test.sh does)");

        var environment = new Dictionary<string, string>
        {
            ["AKSHAREWEB_URL"] = service.ToString().TrimEnd('/'),
            ["AKSHAREWEB_ADMIN_PASSWORD"] = AkshareWebApp.AdminPassword,
            ["CONSOLE_RESULTS"] = Path.Combine(root, ".data", "test-results", "console"),
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string>()) environment[key] = value;
        return environment;
    }
}
