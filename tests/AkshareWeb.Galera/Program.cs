using System.Diagnostics;
using Dapper;
using MySqlConnector;
using AkshareWeb.Galera;

// The failover drill: run by scripts/test-galera.sh, which starts the cluster (scripts/galera.sh) and builds the service.
//   dotnet tests/AkshareWeb.Galera/bin/Release/net10.0/AkshareWeb.Galera.dll <repository root> <cluster connection string>
// Exit code 0 when every claim held; the figures are printed as a table at the end.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: AkshareWeb.Galera <repository root> <cluster connection string>");
    return 2;
}

var (root, clusterString) = (Path.GetFullPath(args[0]), args[1]);
const string adminPassword = "Drill-Admin-Pass-1234";
var clock = Stopwatch.StartNew();
var report = new Report();
var cluster = new Cluster(root, clusterString);
var database = "akshareweb_drill_" + Guid.NewGuid().ToString("N")[..8];
var logs = Path.Combine(root, ".data", "galera-drill");
Directory.CreateDirectory(logs);
await using (var connection = new MySqlConnection(clusterString))
{
    await connection.ExecuteAsync($"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
}

await using var akTools = await FakeAkTools.StartAsync();
var settings = new Dictionary<string, string>
{
    ["AKSHAREWEB__ConnectionStrings__AkshareWeb"] = new MySqlConnectionStringBuilder(clusterString) { Database = database }.ConnectionString,
    ["AKSHAREWEB__Admin__Password"] = adminPassword,
    ["AKSHAREWEB__Jwt__SigningKey"] = "drill-signing-key-of-at-least-32-bytes!!",
    ["AKSHAREWEB__AkTools__BaseUrl"] = akTools.BaseUrl,
    ["AKSHAREWEB__DataScripts__Path"] = Path.Combine(root, "data-scripts"),
    ["AKSHAREWEB__Scheduler__MinIntervalSeconds"] = "10",
    ["AKSHAREWEB__Scheduler__IntervalTickCron"] = "* * * * * *",
    ["AKSHAREWEB__SourceRates__Default"] = "0",
    ["AKSHAREWEB__SourceRates__Families__eastmoney"] = "0",
    ["AKSHAREWEB__Parts__DefaultConcurrency"] = "8",
    ["AKSHAREWEB__RateLimits__AdminPerWindow"] = "1000000",
    ["AKSHAREWEB__RateLimits__AnonymousPerWindow"] = "1000000",
    ["AKSHAREWEB__RateLimits__AuthAttemptsPerAddress"] = "1000000",
    // The probe signs one account in from one address twice a second; the login throttle counts every attempt in flight
    // as a failure until its password is checked, so the sign-ins that waited out a node's eviction and go through
    // together would meet its limit (429), as a burst of guesses should. Throttling is not what the drill measures.
    ["AKSHAREWEB__RateLimits__LoginFailuresPerAccountAndAddress"] = "1000000",
    ["Logging__LogLevel__Default"] = "Information",
    ["Logging__LogLevel__Microsoft"] = "Warning",
    ["Logging__LogLevel__Hangfire"] = "Warning",
};

Console.WriteLine($"[drill] database {database}, fake AKTools {akTools.BaseUrl}, logs in {logs}");
var instances = new List<ServiceInstance>();
try
{
    // One after the other: the first creates the schema, the second finds it made.
    instances.Add(await ServiceInstance.StartAsync("A", root, logs, settings));
    instances.Add(await ServiceInstance.StartAsync("B", root, logs, settings));
    report.Figure("instances up", $"{clock.Elapsed.TotalSeconds:0.0} s after the drill started");
    var drill = new Drill(cluster, database, instances, akTools, clock, report);
    await drill.SignInAsync(adminPassword);
    // A loaded machine may need longer than the default 5 minutes for a run that goes through a failover.
    await drill.SendAsync(HttpMethod.Put, instances[0], "/api/settings/", new { default_timeout = 3600 });
    await using var probe = new ApiProbe(instances, drill.Token, adminPassword, clock);
    drill.Probe = probe;
    probe.Start();

    // DRILL_ONLY=d (letters) runs only those scenarios: to try one again without the others' minutes.
    var only = Environment.GetEnvironmentVariable("DRILL_ONLY");
    bool Runs(char scenario) => string.IsNullOrEmpty(only) || only.Contains(scenario, StringComparison.Ordinal);
    var phase = Stopwatch.StartNew();
    if (Runs('a'))
    {
        await Scenarios.DownloadAsync(drill);
        report.Figure("(a) took", $"{phase.Elapsed.TotalSeconds:0} s");
    }

    if (Runs('b'))
    {
        phase.Restart();
        await Scenarios.PartedAsync(drill);
        report.Figure("(b) took", $"{phase.Elapsed.TotalSeconds:0} s");
    }

    if (Runs('c'))
    {
        phase.Restart();
        await Scenarios.IntervalTaskAsync(drill);
        report.Figure("(c) took", $"{phase.Elapsed.TotalSeconds:0} s");
    }

    if (Runs('d'))
    {
        phase.Restart();
        await Scenarios.TwoNodesAsync(drill, root, logs, settings, adminPassword);
        report.Figure("(d) took", $"{phase.Elapsed.TotalSeconds:0} s");
    }

    // The cluster is whole again: three synced members, holding the same rows.
    var status = await cluster.StatusAsync();
    report.Check("the killed nodes rejoined: the cluster is whole", status.Contains("wsrep_cluster_size 3", StringComparison.Ordinal)
        && status.Split('\n').Count(l => l.EndsWith(" Synced", StringComparison.Ordinal)) == 3, status.Replace('\n', ';'));
    var sums = await cluster.ChecksumsAsync(database, ["ak_stock_zh_a_hist_min_em", "ak_stock_zh_a_hist", "ak_macro_china_lpr", "executions", "execution_parts"]);
    report.Check("every node holds the same rows", sums.Distinct().Count() == 1, string.Join(" / ", sums));
    report.Check("both instances stayed up", instances.All(i => !i.Exited), string.Join(", ", instances.Select(i => $"{i.Name}: {(i.Exited ? "exited" : "up")}")));
    var logged500 = instances.Sum(i => File.ReadLines(Path.Combine(logs, $"instance-{i.Name}.log")).Count(l => l.Contains("Unhandled error", StringComparison.Ordinal) || l.Contains("Database error", StringComparison.Ordinal)));
    report.Check("no request failed with an unforeseen error (the instances' logs)", logged500 == 0, $"{logged500} such lines");
    report.Figure("whole drill", $"{clock.Elapsed.TotalSeconds:0} s");
}
catch (Exception e)
{
    report.Check("the drill ran to its end", false, e.ToString());
}
finally
{
    foreach (var instance in instances) await instance.DisposeAsync();
}

report.Print();
if (report.AllHold)
{
    await using var connection = new MySqlConnection(clusterString);
    await connection.ExecuteAsync($"DROP DATABASE IF EXISTS `{database}`");
}
else
{
    Console.WriteLine($"[drill] the database {database} and the logs in {logs} are kept for a look");
}

return report.AllHold ? 0 : 1;
