using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Notifications;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// The fan-out app with site-family pauses on and quick: 4 transient failures in a row pause a family for 1 s,
/// doubling on each failed probe up to 4 s; 4 tries per call; admins' loopback channels hear of pauses.
/// </summary>
public class BansApp : NotifyingRunsApp
{
    public BansApp()
    {
        // A third family of its own (ths, unlimited here) for the test across instances.
        WriteScript("stocks/daily/fanout_bars_ths.json", """
            {"id": "fanout_bars_ths", "name": "扇出日线 ths", "category": "stocks", "frequency": "daily", "interface": "fanout_bars_ths",
             "parameters": [
               {"name": "symbol", "type": "string", "required": true, "role": "key", "column": "股票代码"},
               {"name": "start_date", "type": "date", "format": "yyyyMMdd", "default": "20240601", "role": "range"},
               {"name": "end_date", "type": "date", "format": "yyyyMMdd", "default": "20240610", "role": "range"}],
             "target_table": "ak_fanout_bars_ths", "write_mode": "upsert", "key_columns": ["股票代码", "日期"]}
            """);
        Set("SourceRates:Families:ths", "0");
        // A part has as many tries as it takes to pause the family: however the parts' calls interleave, none can
        // spend all its tries on the ban before the pause begins.
        Set("AkTools:MaxRetries", "3");
        Set("Bans:FailuresInARow", "4");
        Set("Bans:CooldownSeconds", "1");
        Set("Bans:MaxCooldownSeconds", "4");
    }
}

/// <summary>Another instance of the service on the fixture's database, calling the same AKTools host (the fixture's fake).</summary>
public sealed class SecondBansInstance : BansApp
{
    private readonly BansApp first;

    public SecondBansInstance(BansApp first)
    {
        this.first = first;
        UseDatabase(first.ConnectionString);
        Set("DataScripts:Path", first.ScriptsFolder);
        Set("Catalog:RegistryPath", first.RegistryFile);
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Set("AkTools:BaseUrl", first.AkTools.BaseUrl);
    }
}

/// <summary>
/// An upstream site that bans the AKTools host: AKShare raises inside AKTools, which answers its plain 500, for every
/// symbol alike. The family pauses (no call but the probe leaves), the run waits instead of failing its parts, and
/// it ends with each symbol holding exactly the bars the fake served; the pause is told in the run's record, in
/// GET /api/sites and to the admins' channels.
/// </summary>
public sealed class SiteBanTests(BansApp app, NotificationReceiver receiver) : IClassFixture<BansApp>, IClassFixture<NotificationReceiver>
{
    private const string PauseShape = @"^(eastmoney|sina) paused until \d\d:\d\d \([^)]+\) after \d+ failures in a row";

    /// <summary>What the fake did: when each call came, and which it refused as the banned upstream.</summary>
    private sealed class Ban
    {
        public ConcurrentQueue<(DateTime At, string Symbol, bool Refused)> Calls { get; } = new();
        public volatile bool Lifted;
        public int Served;
        public int Refused;
    }

    /// <summary>
    /// Bars for the asked symbol, one per day of its window, until <paramref name="servedBeforeBan"/> calls have been
    /// answered; then AKTools' 500 for the next <paramref name="refusals"/> calls (or, with none given, until lifted).
    /// </summary>
    private Ban ServeWithBan(string function, int servedBeforeBan, int? refusals)
    {
        var ban = new Ban();
        var calls = 0;
        app.AkTools.Handle(function, async context =>
        {
            var query = context.Request.Query;
            var symbol = query["symbol"].ToString();
            var n = Interlocked.Increment(ref calls);
            var refuse = !ban.Lifted && n > servedBeforeBan && (refusals is null || n <= servedBeforeBan + refusals);
            ban.Calls.Enqueue((DateTime.UtcNow, symbol, refuse));
            if (refuse)
            {
                Interlocked.Increment(ref ban.Refused);
                await FakeAkTools.UpstreamFailedAsync(context);
                return;
            }

            Interlocked.Increment(ref ban.Served);
            await FakeAkTools.RowsAsync(context, BarsOf(symbol, query));
        });
        return ban;
    }

    private static List<object> BarsOf(string symbol, IQueryCollection query)
    {
        var from = DateOnly.ParseExact(query["start_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
        var to = DateOnly.ParseExact(query["end_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
        var bars = new List<object>();
        for (var day = from; day <= to; day = day.AddDays(1)) bars.Add(TestScripts.Bar(symbol, day, 10 + day.Day));
        return bars;
    }

    /// <summary>Each symbol holds the ten bars of 2024-06-01..10 the fake served, closes included, once.</summary>
    private async Task AssertHoldsWhatWasServedAsync(string table, IEnumerable<string> symbols)
    {
        await using var db = await app.OpenDatabaseAsync();
        foreach (var symbol in symbols)
        {
            var bars = (await db.QueryAsync<(string Day, double Close)>(
                $"SELECT CAST(`日期` AS CHAR), `收盘` FROM `{table}` WHERE `股票代码` = @symbol ORDER BY 1", new { symbol })).ToList();
            Assert.Equal(Enumerable.Range(1, 10).Select(d => ($"2024-06-{d:D2}", 10.0 + d)), bars);
        }
    }

    /// <summary>The value of a gauge's series for <paramref name="family"/> in a /metrics text, or null.</summary>
    private static string? Gauge(string metrics, string name, string family) =>
        Regex.Match(metrics, $@"^{name}\{{[^}}]*family=""{family}""[^}}]*\}} (\S+)", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value : null;

    private static async Task<JsonNode> SiteAsync(HttpClient client, string family)
    {
        var sites = (await (await client.GetAsync("/api/sites")).ExpectAsync(200, 0))["data"]!.AsArray();
        return sites.Single(s => s!["family"]!.GetValue<string>() == family)!;
    }

    [Fact]
    public async Task A_ban_pauses_the_family_and_the_run_resumes_to_hold_every_symbol_as_served()
    {
        var admin = await app.AdminAsync();
        await admin.WebhookAsync(receiver.BaseUrl + "/bans/admin", ["site_paused"], scope: "all");
        var symbols = Enumerable.Range(1, 8).Select(i => $"71000{i}").ToArray();
        var ban = ServeWithBan("fanout_bars_em", servedBeforeBan: 3, refusals: 6);
        var (client, _, _) = await app.NewUserAsync();
        var taskId = await app.ScriptTaskAsync(client, "fanout_bars_em", new { symbol = new { values = symbols } }, concurrency: 2);
        var id = await PartsApp.ExecuteAsync(client, taskId);

        // While the family is paused the running execution says why, and /metrics shows the family paused.
        var waiting = await TaskTestKit.EventuallyAsync(async () => (await (await client.GetAsync($"/api/executions/{id}")).ExpectAsync(200, 0))["data"]!,
            e => e["result"]?["site_paused"] is JsonValue, seconds: 60);
        Assert.Equal("running", waiting["status"]!.GetValue<string>());
        Assert.Contains("waiting: eastmoney paused until", waiting["result"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await TaskTestKit.EventuallyAsync(() => admin.GetStringAsync("/metrics"), m => Gauge(m, "akshareweb_site_family_paused", "eastmoney") == "1", seconds: 30);

        var run = await app.EndAsync(client, id, seconds: 90);

        // Not "N of 8 parts failed": every part waited out the pause and finished.
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal((8, 0), (run["parts_done"]!.GetValue<int>(), run["parts_failed"]!.GetValue<int>()));
        Assert.Equal(6, ban.Refused);
        await AssertHoldsWhatWasServedAsync("ak_fanout_bars_em", symbols);
        var parts = await PartsApp.PartsAsync(client, id);
        Assert.All(parts, p => Assert.Equal("completed", p!["status"]!.GetValue<string>()));
        // Every try is a call that reached AKTools, refused ones included; none was spent waiting.
        Assert.Equal(ban.Calls.Count, parts.Sum(p => p!["tries"]!.GetValue<int>()));

        // The run's record says why it was slow.
        var pause = run["result"]!["site_paused"]!.GetValue<string>();
        Assert.Matches(PauseShape, pause);
        Assert.StartsWith("eastmoney", pause, StringComparison.Ordinal);
        Assert.Contains(pause, run["result"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // The family's state: paused once after 4 failures in a row, back and climbing from half its rate.
        var site = await SiteAsync(client, "eastmoney");
        Assert.Equal("recovering", site["state"]!.GetValue<string>());
        Assert.Equal(1, site["pauses"]!.GetValue<int>());
        Assert.Equal(0, site["failures_in_a_row"]!.GetValue<int>());
        Assert.InRange(site["rate_share"]!.GetValue<double>(), 0.5, 0.99);
        Assert.Matches(PauseShape + "$|; the probe", site["pause_reason"]!.GetValue<string>());
        Assert.Null(site["paused_until"]);

        // While the first cool-down ran no call left but, at most, one already on its way when the pause began.
        var pausedAt = site["paused_at"]!.GetValue<DateTime>().ToUniversalTime();
        Assert.True(ban.Calls.Count(c => c.At > pausedAt.AddMilliseconds(100) && c.At < pausedAt.AddMilliseconds(900)) <= 1,
            string.Join("\n", ban.Calls.Select(c => $"{c.At:HH:mm:ss.fff} {c.Symbol} {(c.Refused ? "refused" : "served")} (paused at {pausedAt:HH:mm:ss.fff})")));

        // Back on /metrics: not paused, its allowed rate (0: eastmoney has no limit in this app), and the retries the
        // resilience pipeline made.
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Equal("0", Gauge(metrics, "akshareweb_site_family_paused", "eastmoney"));
        Assert.Equal("0", Gauge(metrics, "akshareweb_site_family_rate", "eastmoney"));
        Assert.Matches(@"resilience_polly_strategy_events_total\{[^}]*pipeline_name=""aktools-calls""", metrics);

        // The admins heard of the pause once, with its reason; the failed probes made no second message.
        var told = Assert.Single(await receiver.WaitForAsync("/bans/admin"));
        Assert.Equal("site_paused", told.Json["event"]!.GetValue<string>());
        Assert.Matches(@"^eastmoney paused until \d\d:\d\d after \d+ failures in a row$", told.Json["title"]!.GetValue<string>());
        Assert.Equal("eastmoney", told.Json["facts"]!["family"]!.GetValue<string>());
        await Task.Delay(1000);
        Assert.Single(receiver.Received, r => r.Path == "/bans/admin");
        var delivery = Assert.Single(await admin.DeliveriesAsync("&event=site_paused"))!;
        Assert.Equal("sent", delivery["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_family_paused_past_the_time_out_fails_its_parts_with_the_reason_and_a_retry_finishes_them()
    {
        var symbols = new[] { "720001", "720002", "720003" };
        var ban = ServeWithBan("fanout_bars_sina", servedBeforeBan: 0, refusals: null);
        var (client, _, _) = await app.NewUserAsync();
        var response = await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "全市场 sina", script_id = "fanout_bars_sina", schedule_type = "cron", schedule_expression = "0 3 1 1 *",
            parameters = new { symbol = new { values = symbols } }, concurrency = 3, timeout_seconds = 10,
        });
        var taskId = (await response.ExpectAsync(201, 0))["data"]!["id"]!.GetValue<long>();
        var id = await PartsApp.ExecuteAsync(client, taskId);

        // Someone testing a script of the paused family at the screen hears why at once instead of waiting it out.
        await TaskTestKit.EventuallyAsync(() => SiteAsync(client, "sina"),
            s => s["state"]!.GetValue<string>() == "paused" && s["paused_until"]!.GetValue<DateTime>().ToUniversalTime() > DateTime.UtcNow.AddSeconds(1.5), seconds: 30);
        var test = await (await client.PostAsJsonAsync("/api/scripts/fanout_bars_sina/test", new { parameters = new { symbol = "720001" } })).ExpectAsync(502, 5003);
        Assert.Matches(@"AKTools was not called for fanout_bars_sina: sina paused until \d\d:\d\d .*; try again after the pause", test["message"]!.GetValue<string>());

        var run = await app.EndAsync(client, id, seconds: 60);

        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal(3, run["parts_failed"]!.GetValue<int>());
        Assert.Contains($"POST /api/executions/{id}/retry", run["error_message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Matches(PauseShape, run["result"]!["site_paused"]!.GetValue<string>());
        var parts = await PartsApp.PartsAsync(client, id);
        Assert.All(parts, p =>
        {
            Assert.Equal("failed", p!["status"]!.GetValue<string>());
            Assert.Matches(@"^did not finish within 10 s: it waited while sina paused until \d\d:\d\d", p["error_message"]!.GetValue<string>());
        });

        // Calls stopped at the pause: 4 in a row paused the family (2 more may have been on their way), then only probes
        // went, one per cool-down (1, 2, 4, 4 s).
        Assert.InRange(ban.Refused, 4, 4 + 2 + 4);

        // The ban ends; once the cool-down is over the retry's first call is the probe, and the rest follow it.
        ban.Lifted = true;
        await TaskTestKit.EventuallyAsync(() => SiteAsync(client, "sina"), s => s["state"]!.GetValue<string>() is "probing", seconds: 15);
        var retry = (await (await client.PostAsync($"/api/executions/{id}/retry", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var retried = await app.EndAsync(client, retry, seconds: 60);
        Assert.Equal("completed", retried["status"]!.GetValue<string>());
        Assert.Equal(3, retried["parts_done"]!.GetValue<int>());
        await AssertHoldsWhatWasServedAsync("ak_fanout_bars_sina", symbols);
        Assert.Equal("recovering", (await SiteAsync(client, "sina"))["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_pause_one_instance_starts_holds_the_calls_of_another_on_the_same_AKTools_host()
    {
        var symbols = new[] { "730001", "730002", "730003" };
        var ban = ServeWithBan("fanout_bars_ths", servedBeforeBan: 0, refusals: null);
        var second = new SecondBansInstance(app);
        await second.InitializeAsync();
        try
        {
            var (client, _, _) = await app.NewUserAsync();
            var taskId = await app.ScriptTaskAsync(client, "fanout_bars_ths", new { symbol = new { values = symbols } }, concurrency: 3);
            var id = await PartsApp.ExecuteAsync(client, taskId);

            // The other instance sees the family paused by failures it need not have made, and holds its own call.
            var (other, _, _) = await second.NewUserAsync();
            var site = await TaskTestKit.EventuallyAsync(() => SiteAsync(other, "ths"),
                s => s["state"]!.GetValue<string>() == "paused" && s["paused_until"]!.GetValue<DateTime>().ToUniversalTime() > DateTime.UtcNow.AddSeconds(1.5), seconds: 30);
            Assert.Matches(@"^ths paused until \d\d:\d\d \([^)]+\) after \d+ failures in a row", site["pause_reason"]!.GetValue<string>());
            var test = await (await other.PostAsJsonAsync("/api/scripts/fanout_bars_ths/test", new { parameters = new { symbol = "730001" } })).ExpectAsync(502, 5003);
            Assert.Contains("AKTools was not called for fanout_bars_ths: ths paused until", test["message"]!.GetValue<string>(), StringComparison.Ordinal);

            // The ban ends: the next probe succeeds and the run, whichever instances take part in it, finishes every symbol.
            ban.Lifted = true;
            var run = await app.EndAsync(client, id, seconds: 60);
            Assert.Equal("completed", run["status"]!.GetValue<string>());
            Assert.Equal((3, 0), (run["parts_done"]!.GetValue<int>(), run["parts_failed"]!.GetValue<int>()));
            await AssertHoldsWhatWasServedAsync("ak_fanout_bars_ths", symbols);
            Assert.Equal("recovering", (await SiteAsync(other, "ths"))["state"]!.GetValue<string>());
        }
        finally
        {
            await ((IAsyncLifetime)second).DisposeAsync();
        }
    }
}
