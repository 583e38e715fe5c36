using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Operations;

/// <summary>The collecting app with a scrape token.</summary>
public sealed class MetricsApp : CollectingApp
{
    public const string ScrapeToken = "scrape-token-for-the-tests";

    public MetricsApp() => Set("Metrics:Token", ScrapeToken);
}

/// <summary>
/// Alone: every host in the test process has a meter named AkshareWeb, and OpenTelemetry's exporter of one host
/// sees the others' instruments of the same names too, so while other hosts run it may write theirs instead.
/// One service per process, as in production, has no such neighbours.
/// </summary>
[CollectionDefinition(nameof(MetricsTests), DisableParallelization = true)]
public sealed class MetricsCollection;

[Collection(nameof(MetricsTests))]
public sealed class MetricsTests(MetricsApp app) : IClassFixture<MetricsApp>
{
    [Fact]
    public async Task Metrics_are_for_admins_and_the_scrape_token_only()
    {
        await (await app.CreateClient().GetAsync("/metrics")).ExpectAsync(401, 1001);
        var (user, _, _) = await app.NewUserAsync();
        await (await user.GetAsync("/metrics")).ExpectAsync(403, 1003);
        var wrong = app.CreateClient();
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
        await (await wrong.GetAsync("/metrics")).ExpectAsync(401, 1001);

        var admin = await app.AdminAsync();
        var answer = await admin.GetAsync("/metrics");
        Assert.Equal(200, (int)answer.StatusCode);
        Assert.StartsWith("text/plain", answer.Content.Headers.ContentType!.MediaType);
        Assert.Equal(200, (int)(await Scraper().GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task A_download_moves_the_execution_row_and_AKTools_counters()
    {
        app.AkTools.Rows("stock_zh_a_spot_em",
            new Dictionary<string, object?> { ["代码"] = "000001", ["最新价"] = 10.5 },
            new Dictionary<string, object?> { ["代码"] = "000002", ["最新价"] = 8.25 },
            new Dictionary<string, object?> { ["代码"] = "600000", ["最新价"] = 7.1 });
        const string script = "script=\"interface:stock_zh_a_spot_em\"";
        var before = await ScrapeAsync();

        var ended = await app.DownloadAsync("stock_zh_a_spot_em");
        Assert.Equal("completed", ended["status"]!.GetValue<string>());
        var after = await ScrapeAsync();

        Assert.True(Sum(after, "akshareweb_executions_total", "phase=\"started\"", script, "trigger=\"download\"") - Sum(before, "akshareweb_executions_total", "phase=\"started\"", script) >= 1);
        Assert.True(Sum(after, "akshareweb_executions_total", "phase=\"finished\"", "status=\"completed\"", script, "trigger=\"download\"")
            - Sum(before, "akshareweb_executions_total", "phase=\"finished\"", "status=\"completed\"", script) >= 1);
        Assert.True(Sum(after, "akshareweb_rows_fetched_total", script) - Sum(before, "akshareweb_rows_fetched_total", script) >= 3);
        Assert.True(Sum(after, "akshareweb_rows_written_total", script) - Sum(before, "akshareweb_rows_written_total", script) >= 3);
        Assert.True(Sum(after, "akshareweb_aktools_call_duration_seconds_count", "outcome=\"ok\"") - Sum(before, "akshareweb_aktools_call_duration_seconds_count", "outcome=\"ok\"") >= 1);
        Assert.True(Sum(after, "akshareweb_http_request_duration_seconds_count", "route=\"/api/data/download\"", "status_class=\"2xx\"") >= 1);
        Assert.True(Sum(after, "akshareweb_warehouse_tables") >= 1);
        Assert.Contains("akshareweb_warehouse_table_rows{", after);
        Assert.Contains("akshareweb_hangfire_jobs{", after);
        Assert.Equal(1, Sum(after, "akshareweb_database_up"));
    }

    [Fact]
    public async Task AKTools_failures_are_counted_by_kind()
    {
        app.AkTools.Fails("macro_cnbs");
        var before = await ScrapeAsync();
        var ended = await app.DownloadAsync("macro_cnbs");
        Assert.Equal("failed", ended["status"]!.GetValue<string>());
        var after = await ScrapeAsync();
        Assert.True(Sum(after, "akshareweb_aktools_failures_total", "kind=\"upstream_error\"") - Sum(before, "akshareweb_aktools_failures_total", "kind=\"upstream_error\"") >= 1);
        Assert.True(Sum(after, "akshareweb_executions_total", "phase=\"finished\"", "status=\"failed\"", "script=\"interface:macro_cnbs\"")
            - Sum(before, "akshareweb_executions_total", "phase=\"finished\"", "status=\"failed\"", "script=\"interface:macro_cnbs\"") >= 1);
    }

    /// <summary>AKTools' 404 "未找到该接口" (AKShare on its host lacks the function) is its own kind, not a parameter error.</summary>
    [Fact]
    public async Task A_function_AKShare_lacks_on_the_AKTools_host_counts_as_no_interface()
    {
        app.AkTools.Raw("hostile_fn", "{\"error\": \"" + FakeAkTools.UnknownFunction + "\"}", 404);
        var before = await ScrapeAsync();
        var ended = await app.DownloadAsync("hostile_fn", new { level = 1 });
        Assert.Equal("failed", ended["status"]!.GetValue<string>());
        Assert.Contains("no interface hostile_fn", ended["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        var after = await ScrapeAsync();
        Assert.Equal(1, Sum(after, "akshareweb_aktools_failures_total", "kind=\"no_interface\"") - Sum(before, "akshareweb_aktools_failures_total", "kind=\"no_interface\""));
        Assert.Equal(0, Sum(after, "akshareweb_aktools_failures_total", "kind=\"parameter_error\"") - Sum(before, "akshareweb_aktools_failures_total", "kind=\"parameter_error\""));
        Assert.Equal(1, Sum(after, "akshareweb_aktools_call_duration_seconds_count", "outcome=\"no_interface\"")
            - Sum(before, "akshareweb_aktools_call_duration_seconds_count", "outcome=\"no_interface\""));
    }

    /// <summary>
    /// A parted download of five symbols, its four parts at once (the default concurrency) held at AKTools: the
    /// parts gauge shows four running and one waiting, the calls counter four calls toward eastmoney (the family of
    /// stock_zh_a_hist's module), and five once every part is done.
    /// </summary>
    [Fact]
    public async Task Parts_waiting_and_running_and_calls_by_site_family_are_exported()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string[] symbols = ["970001", "970002", "970003", "970004", "970005"];
        app.AkTools.Handle("stock_zh_a_hist", async context =>
        {
            await gate.Task.WaitAsync(context.RequestAborted);
            var symbol = context.Request.Query["symbol"].ToString();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new[] { TestScripts.Bar(symbol, new DateOnly(2024, 6, 3), 10) }), context.RequestAborted);
        });
        var before = await ScrapeAsync();
        var (client, _, _) = await app.NewUserAsync();
        long interfaceId;
        await using (var db = await app.OpenDatabaseAsync())
        {
            interfaceId = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_hist'");
        }

        var id = (await (await client.PostAsJsonAsync("/api/data/download", new
        {
            interface_id = interfaceId, parameters = new { symbol = new { values = symbols }, start_date = "20240603", end_date = "20240603" },
        })).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        await TaskTestKit.EventuallyAsync(() => Task.FromResult(app.AkTools.Calls.Count(c => c.Function == "stock_zh_a_hist")), n => n >= 4);

        var during = await ScrapeAsync();
        Assert.Equal(4, Sum(during, "akshareweb_execution_parts", "state=\"running\""));
        Assert.Equal(1, Sum(during, "akshareweb_execution_parts", "state=\"waiting\""));
        Assert.Equal(4, Sum(during, "akshareweb_aktools_calls_total", "family=\"eastmoney\"") - Sum(before, "akshareweb_aktools_calls_total", "family=\"eastmoney\""));
        var execution = (await (await client.GetAsync($"/api/executions/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(4, execution["parts_running"]!.GetValue<int>());
        Assert.Equal(1, execution["parts_waiting"]!.GetValue<int>());
        Assert.Equal(Math.Round(4 / 60.0, 2), execution["calls_per_second"]!.GetValue<double>());

        gate.SetResult();
        Assert.Equal("completed", (await app.WaitForEndAsync(client, id))["status"]!.GetValue<string>());
        var after = await ScrapeAsync();
        Assert.Equal(5, Sum(after, "akshareweb_aktools_calls_total", "family=\"eastmoney\"") - Sum(before, "akshareweb_aktools_calls_total", "family=\"eastmoney\""));
        Assert.Equal(0, Sum(after, "akshareweb_execution_parts"));
        Assert.Contains("akshareweb_execution_parts{", after);
    }

    [Fact]
    public async Task A_made_up_method_counts_as_OTHER_not_as_a_series_of_its_own()
    {
        foreach (var method in new[] { "ANYTHING", "BREW", "X-" + Guid.NewGuid().ToString("N") })
        {
            Assert.Equal(405, (await app.SendFromAsync("192.0.2.80", method, "/api/tasks/")).Status);
        }

        var scrape = await ScrapeAsync();
        Assert.DoesNotContain("method=\"ANYTHING\"", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("method=\"BREW\"", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("method=\"X-", scrape, StringComparison.Ordinal);
        Assert.True(Sum(scrape, "akshareweb_http_request_duration_seconds_count", "method=\"OTHER\"", "status_class=\"4xx\"") >= 3);
        var methods = Regex.Matches(scrape, "method=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Subset(new HashSet<string> { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER" }, methods);
    }

    /// <summary>
    /// The dashboard in deploy/grafana is only as good as the names it queries: a renamed metric or label draws an
    /// empty panel without any error, so each series and label of every panel's query must be in a real scrape.
    /// </summary>
    [Fact]
    public async Task Every_series_the_Grafana_dashboard_draws_is_exported_with_the_labels_it_uses()
    {
        app.AkTools.Rows("stock_zh_a_spot_em", new Dictionary<string, object?> { ["代码"] = "900001", ["最新价"] = 1.5 });
        Assert.Equal("completed", (await app.DownloadAsync("stock_zh_a_spot_em"))["status"]!.GetValue<string>());
        app.AkTools.Fails("macro_cnbs");
        Assert.Equal("failed", (await app.DownloadAsync("macro_cnbs"))["status"]!.GetValue<string>());
        // A table with a date in its key, whose coverage (and, being bars, health) is computed in the background once the run is done.
        app.ServeBars();
        Assert.Equal("completed", (await app.DownloadAsync("stock_zh_a_hist", new { symbol = "000001" }))["status"]!.GetValue<string>());
        // Its health too, checked in the background after the run.
        var scrape = await TaskTestKit.EventuallyAsync(ScrapeAsync, text => text.Contains("akshareweb_table_missing_days{", StringComparison.Ordinal)
            && text.Contains("akshareweb_table_health_findings{", StringComparison.Ordinal));
        Assert.Contains(scrape.Split('\n'), line => line.StartsWith("akshareweb_table_missing_days{", StringComparison.Ordinal) && line.Contains("table=\"ak_stock_zh_a_hist\"", StringComparison.Ordinal));
        var samples = (await ScrapeAsync()).Split('\n').Where(line => line.StartsWith("akshareweb_", StringComparison.Ordinal)).ToList();

        var path = Path.Combine(Host.OpenApiDocumentTests.RepositoryRoot(), "deploy", "grafana", "dashboards", "akshareweb.json");
        var panels = JsonNode.Parse(await File.ReadAllTextAsync(path))!["panels"]!.AsArray();
        var queries = panels.SelectMany(panel => panel!["targets"]?.AsArray() ?? [])
            .Select(target => target!["expr"]!.GetValue<string>()).ToList();
        Assert.True(queries.Count >= 10, "the dashboard's panels hold " + queries.Count + " queries");
        foreach (var query in queries)
        {
            var series = Regex.Matches(query, @"(akshareweb_[a-z0-9_]+)(\{[^}]*\})?").ToList();
            Assert.NotEmpty(series);
            var lines = new List<string>();
            foreach (Match one in series)
            {
                var name = one.Groups[1].Value;
                var own = samples.Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal)).ToList();
                Assert.True(own.Count > 0, $"'{query}' queries {name}, which /metrics does not export");
                foreach (Match label in Regex.Matches(one.Groups[2].Value, @"([a-z_]+)\s*(?:=~|!~|!=|=)"))
                    Assert.True(own.Any(line => line.Contains(label.Groups[1].Value + "=\"", StringComparison.Ordinal)), $"'{query}' selects on {label.Groups[1].Value}, which {name} does not carry");
                lines.AddRange(own);
            }

            foreach (Match by in Regex.Matches(query, @"by \(([^)]*)\)"))
                foreach (var label in by.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    Assert.True(lines.Any(line => line.Contains(label + "=\"", StringComparison.Ordinal)), $"'{query}' groups by {label}, which its series do not carry");
        }
    }

    private HttpClient Scraper()
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsApp.ScrapeToken);
        return client;
    }

    private async Task<string> ScrapeAsync()
    {
        var answer = await Scraper().GetAsync("/metrics");
        Assert.Equal(200, (int)answer.StatusCode);
        return await answer.Content.ReadAsStringAsync();
    }

    /// <summary>The sum of a metric's samples whose labels contain every given label.</summary>
    private static double Sum(string text, string metric, params string[] labels) => text.Split('\n')
        .Where(line => line.StartsWith(metric + "{", StringComparison.Ordinal) || line.StartsWith(metric + " ", StringComparison.Ordinal))
        .Where(line => labels.All(l => line.Contains(l, StringComparison.Ordinal)))
        .Sum(line => double.Parse(Value(line, metric), CultureInfo.InvariantCulture));

    /// <summary>A sample line is <c>name{labels} value [timestamp]</c>; the labels may hold spaces, the value does not.</summary>
    private static string Value(string line, string metric)
    {
        var rest = line.StartsWith(metric + "{", StringComparison.Ordinal) ? line[(line.LastIndexOf('}') + 1)..] : line[metric.Length..];
        return rest.Trim().Split(' ')[0];
    }
}

public sealed class ReadinessApp : CollectingApp
{
}

/// <summary>AKTools away: a port nothing listens on.</summary>
public sealed class NoAkToolsApp : AkshareWebApp
{
    public NoAkToolsApp() => Set("AkTools:BaseUrl", "http://127.0.0.1:9");
}

public sealed class ReadinessTests(ReadinessApp app) : IClassFixture<ReadinessApp>
{
    [Fact]
    public async Task Ready_names_each_dependency()
    {
        var report = await ReadyAsync(app.CreateClient(), 200);
        Assert.Equal("healthy", report["status"]!.GetValue<string>());
        foreach (var (name, required) in new[] { ("database", true), ("hangfire", true), ("aktools", false) })
        {
            var check = report["checks"]![name]!;
            Assert.Equal("healthy", check["status"]!.GetValue<string>());
            Assert.Equal(required, check["required"]!.GetValue<bool>());
        }

        Assert.Equal(200, (int)(await app.CreateClient().GetAsync("/health/live")).StatusCode);
    }

    /// <summary>Hangfire announces its server just after start: readiness may take a moment, never long.</summary>
    internal static async Task<System.Text.Json.Nodes.JsonNode> ReadyAsync(HttpClient client, int status)
    {
        var deadline = Deadline.In(10);
        while (true)
        {
            var answer = await client.GetAsync("/health/ready");
            var report = await answer.ReadEnvelopeAsync();
            if ((int)answer.StatusCode == status || deadline.Passed)
            {
                Assert.True((int)answer.StatusCode == status, report.ToJsonString());
                return report;
            }

            await Task.Delay(100);
        }
    }
}

public sealed class ReadinessWithoutAkToolsTests(NoAkToolsApp app) : IClassFixture<NoAkToolsApp>
{
    [Fact]
    public async Task AKTools_away_makes_readiness_degraded_not_unhealthy()
    {
        var report = await ReadinessTests.ReadyAsync(await app.AdminAsync(), 200);
        Assert.Equal("degraded", report["status"]!.GetValue<string>());
        Assert.Equal("degraded", report["checks"]!["aktools"]!["status"]!.GetValue<string>());
        Assert.Contains("http://127.0.0.1:9 unreachable", report["checks"]!["aktools"]!["description"]!.GetValue<string>());
        Assert.Equal("healthy", report["checks"]!["database"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Anyone_else_reads_the_status_words_without_the_address_or_the_error()
    {
        var report = await ReadinessTests.ReadyAsync(app.CreateClient(), 200);
        Assert.Equal("degraded", report["status"]!.GetValue<string>());
        Assert.Equal("degraded", report["checks"]!["aktools"]!["status"]!.GetValue<string>());
        var text = report.ToJsonString();
        Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("unreachable", text, StringComparison.Ordinal);
        Assert.DoesNotContain("description", text, StringComparison.Ordinal);
    }
}

/// <summary>Three readiness checks a minute for each anonymous address.</summary>
public sealed class LimitedReadinessApp : AkshareWebApp
{
    public const string ScrapeToken = "scrape-token-for-readiness";

    public LimitedReadinessApp()
    {
        Set("RateLimits:HealthPerWindow", "3");
        Set("Metrics:Token", ScrapeToken);
    }
}

public sealed class ReadinessAudienceTests(LimitedReadinessApp app) : IClassFixture<LimitedReadinessApp>
{
    private static bool Detailed(JsonNode report) => report["checks"]!["database"]!["description"] is not null && report["duration_ms"] is not null;

    [Fact]
    public async Task Operators_read_the_detail_and_anyone_else_the_status_words()
    {
        var admin = await ReadinessTests.ReadyAsync(await app.AdminAsync(), 200);
        Assert.True(Detailed(admin), admin.ToJsonString());
        Assert.Equal("answers", admin["checks"]!["database"]!["description"]!.GetValue<string>());

        var local = await app.SendFromAsync("127.0.0.1", "GET", "/health/ready");
        Assert.True(Detailed(local.Body!), local.Body!.ToJsonString());
        var scraper = await app.SendFromAsync("192.0.2.101", "GET", "/health/ready", null,
            new Dictionary<string, string> { ["Authorization"] = "Bearer " + LimitedReadinessApp.ScrapeToken });
        Assert.True(Detailed(scraper.Body!), scraper.Body!.ToJsonString());

        var (user, _, _) = await app.NewUserAsync();
        foreach (var other in new[]
        {
            (await app.SendFromAsync("192.0.2.102", "GET", "/health/ready")).Body!,
            (await app.SendFromAsync("127.0.0.1", "GET", "/health/ready", null, new Dictionary<string, string> { ["X-Forwarded-For"] = "192.0.2.103" })).Body!,
            await (await user.GetAsync("/health/ready")).ReadEnvelopeAsync(),
        })
        {
            Assert.False(Detailed(other), other.ToJsonString());
            Assert.Equal(["database", "hangfire", "aktools"], other["checks"]!.AsObject().Select(c => c.Key));
            Assert.All(other["checks"]!.AsObject(), c => Assert.Equal(["status", "required"], c.Value!.AsObject().Select(p => p.Key)));
        }
    }

    [Fact]
    public async Task An_anonymous_address_gets_its_few_checks_a_window_and_operators_are_not_limited()
    {
        for (var i = 0; i < 3; i++) Assert.NotEqual(429, (await app.SendFromAsync("192.0.2.110", "GET", "/health/ready")).Status);
        var refused = await app.SendFromAsync("192.0.2.110", "GET", "/health/ready");
        Assert.Equal(429, refused.Status);
        Assert.Equal(-1, refused.Body!["code"]!.GetValue<int>());
        Assert.True(int.Parse(refused.Headers.RetryAfter.ToString(), CultureInfo.InvariantCulture) >= 1);

        Assert.NotEqual(429, (await app.SendFromAsync("192.0.2.111", "GET", "/health/ready")).Status);
        var scraper = new Dictionary<string, string> { ["Authorization"] = "Bearer " + LimitedReadinessApp.ScrapeToken };
        for (var i = 0; i < 6; i++)
        {
            Assert.NotEqual(429, (await app.SendFromAsync("192.0.2.110", "GET", "/health/ready", null, scraper)).Status);
            Assert.NotEqual(429, (await app.SendFromAsync("127.0.0.1", "GET", "/health/ready")).Status);
        }
    }
}
