using System.Globalization;
using System.Net.Http.Json;
using Dapper;

namespace AkshareWeb.Galera;

/// <summary>The three loads a node is killed under: a 300,000-row download, a parted run of 200 parts, and two
/// minutes of a task firing every 10 seconds; then what they left is checked against what the fake AKTools served.</summary>
public static class Scenarios
{
    private static readonly TimeSpan RunPatience = TimeSpan.FromMinutes(6);

    /// <summary>(a) One download of 300,000 one-minute bars; the node dies a third of the way in.</summary>
    public static async Task DownloadAsync(Drill drill)
    {
        const string scenario = "(a) 300,000-row download";
        var id = await drill.InterfaceIdAsync("stock_zh_a_hist_min_em");
        var started = await drill.SendAsync(HttpMethod.Post, drill.Instances[0], "/api/data/download",
            new { interface_id = id, parameters = new { symbol = "000001", period = "1" } });
        var executionId = started["data"]!["execution_id"]!.GetValue<string>();
        await drill.WaitForAsync(async () => (await drill.ExecutionAsync(executionId)).Fetched >= 90_000, TimeSpan.FromMinutes(3));
        await drill.KillNodeAsync(scenario);
        var end = await EndAsync(drill, executionId);
        drill.Report.Check($"{scenario}: the download ended completed", end.Status == "completed", $"{end.Status} {end.Error}");

        var stored = await drill.QueryAsync(c => c.QuerySingleAsync<(long Rows, long Keys, decimal Volume)>("""
            SELECT COUNT(*), COUNT(DISTINCT `时间`), COALESCE(SUM(`成交量`), 0) FROM ak_stock_zh_a_hist_min_em WHERE symbol = '000001' AND period = '1'
            """));
        var served = (Keys: drill.AkTools.MinuteServed.Count, Volume: drill.AkTools.MinuteServed.Values.Sum());
        drill.Report.Check($"{scenario}: no row lost, none twice (against what the fake served)",
            stored.Rows == served.Keys && stored.Keys == served.Keys && stored.Volume == served.Volume,
            $"table {stored.Rows} rows, {stored.Keys} distinct times, volume {stored.Volume}; served {served.Keys} distinct rows, volume {served.Volume}");
        drill.Report.Figure($"{scenario}: rows checked", stored.Rows.ToString("N0", CultureInfo.InvariantCulture));
    }

    /// <summary>(b) A download over 200 symbols (one part each), shared by both instances; the node dies mid-run.</summary>
    public static async Task PartedAsync(Drill drill)
    {
        const string scenario = "(b) parted run of 200 parts";
        var id = await drill.InterfaceIdAsync("stock_zh_a_hist");
        var symbols = Enumerable.Range(0, 200).Select(i => (600000 + i).ToString(CultureInfo.InvariantCulture)).ToArray();
        var started = await drill.SendAsync(HttpMethod.Post, drill.Instances[1], "/api/data/download", new
        {
            interface_id = id,
            parameters = new Dictionary<string, object> { ["symbol"] = new { values = symbols }, ["period"] = "daily", ["adjust"] = "", ["start_date"] = "20230101", ["end_date"] = "20241231" },
        });
        var executionId = started["data"]!["execution_id"]!.GetValue<string>();
        await drill.WaitForAsync(async () => (await drill.ExecutionAsync(executionId)).PartsDone >= 40, TimeSpan.FromMinutes(3));
        await drill.KillNodeAsync(scenario);
        var end = await EndAsync(drill, executionId);
        drill.Report.Check($"{scenario}: the run ended completed, every part done", end.Status == "completed" && end.PartsDone == 200,
            $"{end.Status}, {end.PartsDone} parts done {end.Error}");

        var stored = await drill.QueryAsync(c => c.QuerySingleAsync<(long Rows, long Keys, decimal Volume)>("""
            SELECT COUNT(*), COUNT(DISTINCT `股票代码`, `日期`, period, adjust), COALESCE(SUM(`成交量`), 0) FROM ak_stock_zh_a_hist
            """));
        var served = (Keys: drill.AkTools.DailyServed.Count, Volume: drill.AkTools.DailyServed.Values.Sum());
        drill.Report.Check($"{scenario}: no row lost, none twice (against what the fake served)",
            stored.Rows == served.Keys && stored.Keys == served.Keys && stored.Volume == served.Volume && served.Keys == 200 * FakeAkTools.DailyBars,
            $"table {stored.Rows} rows, {stored.Keys} distinct keys, volume {stored.Volume}; served {served.Keys} distinct rows, volume {served.Volume}");
        var byInstance = await drill.QueryAsync(async c => (await c.QueryAsync<(string Worker, long Parts)>(
            "SELECT worker, COUNT(*) FROM execution_parts WHERE execution_id = @executionId GROUP BY worker", new { executionId })).ToList());
        drill.Report.Figure($"{scenario}: rows checked", $"{stored.Rows:N0} ({200} parts; parts per instance: {string.Join(", ", byInstance.Select(w => w.Parts))})");
    }

    /// <summary>(c) A task every 10 s for two minutes on both instances; the node dies 35 s in.</summary>
    public static async Task IntervalTaskAsync(Drill drill)
    {
        const string scenario = "(c) task every 10 s for 2 minutes";
        var created = await drill.SendAsync(HttpMethod.Post, drill.Instances[0], "/api/tasks/", new
        {
            name = "drill: LPR every 10 s",
            script_id = "macro_china_lpr",
            schedule_type = "interval",
            schedule_expression = "10",
            parameters = new { },
            retry_on_failure = true,
            max_retries = 2,
        });
        var taskId = created["data"]!["id"]!.GetValue<long>();
        var since = drill.Now;
        await Task.Delay(TimeSpan.FromSeconds(35));
        await drill.KillNodeAsync(scenario);
        var left = TimeSpan.FromSeconds(120 - (drill.Now - since));
        if (left > TimeSpan.Zero) await Task.Delay(left);
        var pausedAt = await drill.QueryAsync(c => c.ExecuteScalarAsync<DateTime>("SELECT UTC_TIMESTAMP(6)"));
        await drill.SendAsync(HttpMethod.Post, drill.Instances[1], $"/api/tasks/{taskId}/pause");
        await drill.WaitForAsync(async () => await drill.QueryAsync(c => c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM executions WHERE task_id = @taskId AND status IN ('pending', 'running')", new { taskId })) == 0, RunPatience);

        var runs = await drill.QueryAsync(async c => (await c.QueryAsync<(string Key, string Status, string? Worker, string? RetryOf, string Id, string? Error, DateTime Fired)>(
            "SELECT COALESCE(schedule_key, ''), status, worker, retry_of, execution_id, error_message, created_at FROM executions WHERE task_id = @taskId ORDER BY id", new { taskId })).ToList());
        var createdAt = await drill.QueryAsync(c => c.ExecuteScalarAsync<DateTime>("SELECT created_at FROM scheduled_tasks WHERE id = @taskId", new { taskId }));
        var fires = runs.Where(r => r.RetryOf is null).ToList();
        var fired = fires.Select(r => (Due: DateTime.ParseExact(r.Key[(r.Key.IndexOf('@', StringComparison.Ordinal) + 1)..], "yyyy-MM-ddTHH:mm:ss.ffffff", CultureInfo.InvariantCulture), r.Fired))
            .OrderBy(f => f.Due).ToList();
        var dues = fired.Select(f => f.Due).ToList();
        // The schedule's rule (DueTaskJob): a fire that comes late runs the due time it was for, and the due times that
        // passed meanwhile are skipped, as after a pause. So a step of k intervals is right only when the fire before it
        // came at least k - 1 intervals late (its run's created_at, less a second for the time between reading the
        // clock and the insert); any other step is a due time lost.
        var steps = fired.Zip(fired.Skip(1), (a, b) => (From: a, Intervals: (int)Math.Round((b.Due - a.Due).TotalSeconds / 10))).ToList();
        var gaps = steps.Where(s => s.Intervals != 1 && (s.Intervals < 1 || (s.From.Fired - s.From.Due).TotalSeconds < (10 * (s.Intervals - 1)) - 1)).ToList();
        var ruled = steps.Where(s => s.Intervals > 1 && !gaps.Contains(s)).ToList();
        var skipped = ruled.Sum(s => s.Intervals - 1);
        var skips = string.Join("; ", ruled.Select(s => $"{s.Intervals - 1} after {s.From.Due:HH:mm:ss}, whose fire came {(s.From.Fired - s.From.Due).TotalSeconds:0.0} s late"));
        var expected = dues.Count == 0 ? 0 : (int)Math.Round((dues[^1] - dues[0]).TotalSeconds / 10) + 1 - skipped;
        // Every due time from the first (10 s after the task was made) to the last one at least 3 s before the pause
        // (a tick a second, then a Hangfire job: a due time in the last moments may meet the pause first).
        var lastDue = dues.Count == 0 ? DateTime.MinValue : dues[0].AddSeconds(10 * Math.Floor((pausedAt.AddSeconds(-3) - dues[0]).TotalSeconds / 10));
        var coversWindow = dues.Count > 0 && dues[0] <= createdAt.AddSeconds(11) && dues[^1] >= lastDue;
        drill.Report.Check($"{scenario}: each due time ran exactly once across both instances (skipped only as the schedule's rule says)",
            gaps.Count == 0 && dues.Distinct().Count() == dues.Count && expected == dues.Count && coversWindow,
            $"{dues.Count} due times from {dues.FirstOrDefault():HH:mm:ss} to {dues.LastOrDefault():HH:mm:ss}, {gaps.Count} lost, "
            + $"{skipped} skipped by the rule{(skipped > 0 ? $" ({skips})" : "")}, created {createdAt:HH:mm:ss}, paused {pausedAt:HH:mm:ss}");
        var unfinished = fires.Where(r => r.Status != "completed" && !runs.Any(x => x.RetryOf == r.Id && x.Status == "completed")).ToList();
        drill.Report.Check($"{scenario}: every run completed (or failed with its cause and was retried to completion)", unfinished.Count == 0,
            unfinished.Count == 0 ? $"{runs.Count(r => r.Status == "completed")} completed, {runs.Count(r => r.RetryOf is not null)} retries"
                : string.Join("; ", unfinished.Select(u => $"{u.Id} {u.Status} {u.Error}")));
        drill.Report.Figure($"{scenario}: fires counted", $"{dues.Count} due times, each once; by instance: {string.Join(", ", fires.GroupBy(r => r.Worker ?? "none").Select(g => g.Count()))}; AKTools calls {drill.AkTools.RatesCalls}");
    }

    /// <summary>
    /// (d) Two instances whose connections sit on two nodes: what two instances are for a moment after a failover (one
    /// moved on, the other not yet), made to last by an instance that lists another node first. Sign-ins of one account
    /// on both at once write the same rows (its login counters) on two nodes, which Galera certifies against each other
    /// at COMMIT: the loser's transaction is rolled back (1213). Each sign-in must still answer 200.
    /// </summary>
    public static async Task TwoNodesAsync(Drill drill, string root, string logs, IReadOnlyDictionary<string, string> settings, string password)
    {
        const string scenario = "(d) sign-ins on two nodes at once";
        const string key = "AKSHAREWEB__ConnectionStrings__AkshareWeb";
        var onFirst = drill.Instances[0];
        var hosts = drill.Cluster.Hosts;
        var reordered = new Dictionary<string, string>(settings)
        {
            [key] = new MySqlConnector.MySqlConnectionStringBuilder(settings[key]) { Server = string.Join(',', hosts.Skip(1).Concat(hosts.Take(1))) }.ConnectionString,
        };
        var onSecond = await ServiceInstance.StartAsync("D", root, logs, reordered);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var statuses = new List<int>();
        List<int> nodes;
        try
        {
            for (var round = 0; round < 40; round++)
            {
                var signIns = new[] { onFirst, onSecond, onFirst, onSecond }.Select(async instance =>
                {
                    using var answer = await http.PostAsJsonAsync(new Uri(instance.Address, "/api/auth/login"), new { username = "admin", password });
                    return (int)answer.StatusCode;
                });
                statuses.AddRange(await Task.WhenAll(signIns));
            }

            nodes = await drill.QueryAsync(async _ =>
            {
                var seen = new List<int>();
                for (var n = 1; n <= hosts.Count; n++)
                {
                    await using var node = new MySqlConnector.MySqlConnection(drill.Cluster.Node(n));
                    if (await node.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = @database", new { database = drill.Database }) > 0) seen.Add(n);
                }

                return seen;
            });
        }
        finally
        {
            await onSecond.DisposeAsync();
        }

        var failed = statuses.Where(s => s != 200).GroupBy(s => s).Select(g => $"{g.Count()}x {g.Key}").ToList();
        drill.Report.Check($"{scenario}: the instances' connections are on two nodes", nodes.Count >= 2, $"nodes with the service's sessions: {string.Join(", ", nodes)}");
        drill.Report.Check($"{scenario}: every sign-in answered 200", failed.Count == 0,
            $"{statuses.Count} sign-ins, 2 at a time on each of 2 instances: {(failed.Count == 0 ? "all 200" : string.Join(", ", failed))}");
        drill.Report.Figure($"{scenario}: took", $"{watch.Elapsed.TotalSeconds:0.0} s for {statuses.Count} sign-ins");
        var logged500 = File.ReadLines(Path.Combine(logs, "instance-D.log")).Count(l => l.Contains("Unhandled error", StringComparison.Ordinal) || l.Contains("Database error", StringComparison.Ordinal));
        drill.Report.Check($"{scenario}: no request failed with an unforeseen error (instance D's log)", logged500 == 0, $"{logged500} such lines");
    }

    private static async Task<(string Status, int? PartsDone, string? Error)> EndAsync(Drill drill, string executionId)
    {
        (string Status, long Fetched, int? PartsDone, string? Error) state = ("unknown", 0, null, null);
        await drill.WaitForAsync(async () => (state = await drill.ExecutionAsync(executionId)).Status is not ("pending" or "running"), RunPatience);
        return (state.Status, state.PartsDone, state.Error);
    }
}
