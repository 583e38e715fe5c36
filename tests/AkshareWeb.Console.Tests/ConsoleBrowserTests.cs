using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Console.Tests;

/// <summary>
/// The console as a person uses it, in Chromium: each test runs one scenario of console/e2e/run.mjs (Playwright)
/// against this service and takes its exit code as the verdict. Every scenario fails on an error in the browser's
/// console, on an axe-core violation of serious or critical impact on any view it opens, and saves a screenshot of
/// each view, in Chinese and in English, under .data/test-results/console/. scripts/test.sh builds the console and
/// installs the Node packages and Chromium first.
/// The scenarios are spread over three classes, each on a service of its own: xunit runs a class's tests one after
/// another, and nine scenarios of 13-35 s in one class were the last thing the suite waited for (270 s of its 323 s of
/// tests on 2026-12-07), with the cores mostly idle.
/// </summary>
public sealed class CollectingAndTablesBrowserTests(ConsoleApp service) : IClassFixture<ConsoleApp>
{
    [Fact]
    public Task Testing_a_script_and_watching_a_download_complete_live() => ConsoleScenario.RunAsync("collect", service);

    [Fact]
    public Task Browsing_a_table_with_a_filter_charting_and_exporting_it() => ConsoleScenario.RunAsync("tables", service);

    [Fact]
    public Task Under_a_path_prefix_and_within_the_size_budget() => ConsoleScenario.RunAsync("prefix", service);
}

/// <summary>Runs, tasks and notifications in the console (see <see cref="CollectingAndTablesBrowserTests"/>).</summary>
public sealed class RunsAndTasksBrowserTests(ConsoleApp service) : IClassFixture<ConsoleApp>
{
    [Fact]
    public Task A_parted_run_shows_its_parts_and_retries_the_failed_ones() => ConsoleScenario.RunAsync("parts", service);

    [Fact]
    public Task Creating_a_task_with_its_next_fire_times_and_running_pausing_and_deleting_it() => ConsoleScenario.RunAsync("tasks", service);

    [Fact]
    public Task Notification_channels_created_tested_edited_and_deleted_and_their_deliveries() => ConsoleScenario.RunAsync("notifications", service);
}

/// <summary>Accounts, coverage and the admin pages in the console (see <see cref="CollectingAndTablesBrowserTests"/>).</summary>
public sealed class AccountsAndAdminBrowserTests(ConsoleApp service) : IClassFixture<ConsoleApp>
{
    [Fact]
    public Task Signing_in_reloading_registering_and_signing_out() => ConsoleScenario.RunAsync("auth", service);

    [Fact]
    public Task A_tables_coverage_with_the_keys_missing_days() => ConsoleScenario.RunAsync("coverage", service);

    [Fact]
    public Task Home_and_the_admin_pages() => ConsoleScenario.RunAsync("admin", service);
}

/// <summary>Runs one scenario of console/e2e/run.mjs against a service and takes its exit code as the verdict.</summary>
public static class ConsoleScenario
{
    /// <summary>A scenario against the console's own fixture, which it may ask to release a held call or send notices to.</summary>
    public static async Task RunAsync(string scenario, ConsoleApp service)
    {
        await RunAsync(scenario, service.BaseAddress, new Dictionary<string, string>
        {
            ["AKSHAREWEB_PATH_BASE"] = ConsoleApp.PathBase,
            ["AKTOOLS_URL"] = service.AkToolsUrl.TrimEnd('/'),
            ["RECEIVER_URL"] = service.Receiver.BaseUrl.TrimEnd('/'),
        });
        service.AkTools.AssertNoViolations();
    }

    public static async Task RunAsync(string scenario, Uri service, IReadOnlyDictionary<string, string>? more = null)
    {
        var root = NodeScripts.RepositoryRoot();
        var script = Path.Combine(root, "console", "e2e", "run.mjs");
        Assert.True(File.Exists(Path.Combine(root, "console", "dist", "index.html")), "console/dist is not built: run `npm ci && npm run build` in console/ (scripts/test.sh does)");
        Assert.True(Directory.Exists(Path.Combine(root, "console", "node_modules", "playwright-core")), "console/node_modules is missing: run `npm ci` in console/ (scripts/test.sh does)");

        var environment = new Dictionary<string, string>
        {
            ["AKSHAREWEB_URL"] = service.ToString().TrimEnd('/'),
            ["AKSHAREWEB_ADMIN_PASSWORD"] = AkshareWebApp.AdminPassword,
            ["CONSOLE_RESULTS"] = Path.Combine(root, ".data", "test-results", "console"),
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string>()) environment[key] = value;
        var (exitCode, said) = await NodeScripts.RunAsync(Path.Combine(root, "console"), [script, scenario], environment, TimeSpan.FromMinutes(5));
        Assert.True(exitCode == 0, $"scenario {scenario} failed (exit {exitCode}):\n{said}");
        Assert.Contains($"scenario {scenario}: passed", said, StringComparison.Ordinal);
    }
}
