using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Galera;

/// <summary>What the drill found: each claim checked, and the figures measured.</summary>
public sealed class Report
{
    private readonly List<(string Claim, bool Holds, string Detail)> checks = [];
    private readonly List<(string Name, string Value)> figures = [];

    public bool AllHold => checks.All(c => c.Holds);

    public void Check(string claim, bool holds, string detail)
    {
        checks.Add((claim, holds, detail));
        Console.WriteLine($"[drill] {(holds ? "ok  " : "FAIL")} {claim}: {detail}");
    }

    public void Figure(string name, string value)
    {
        figures.Add((name, value));
        Console.WriteLine($"[drill] figure {name}: {value}");
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine("| figure | value |");
        Console.WriteLine("|---|---|");
        foreach (var (name, value) in figures) Console.WriteLine($"| {name} | {value} |");
        Console.WriteLine();
        Console.WriteLine($"[drill] {checks.Count(c => c.Holds)} of {checks.Count} claims hold");
        foreach (var (claim, _, detail) in checks.Where(c => !c.Holds)) Console.WriteLine($"[drill] FAILED: {claim}: {detail}");
    }
}

/// <summary>
/// Everything the scenarios share: the cluster, the two instances, the fake AKTools, the admin's client, the probe,
/// the drill's own view of the database (read with patience: the drill's connections fail over too) and the report.
/// </summary>
public sealed class Drill(Cluster cluster, string database, IReadOnlyList<ServiceInstance> instances, FakeAkTools akTools, Stopwatch clock, Report report)
{
    public Cluster Cluster { get; } = cluster;
    public string Database { get; } = database;
    public IReadOnlyList<ServiceInstance> Instances { get; } = instances;
    public FakeAkTools AkTools { get; } = akTools;
    public Stopwatch Clock { get; } = clock;
    public Report Report { get; } = report;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
    public ApiProbe? Probe { get; set; }

    public string ConnectionString => new MySqlConnectionStringBuilder(Cluster.ConnectionString) { Database = Database }.ConnectionString;

    public double Now => Clock.Elapsed.TotalSeconds;

    public async Task SignInAsync(string password)
    {
        var answer = await Http.PostAsJsonAsync(new Uri(Instances[0].Address, "/api/auth/login"), new { username = "admin", password });
        var token = (await ReadAsync(answer))["data"]!["access_token"]!.GetValue<string>();
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public string Token => Http.DefaultRequestHeaders.Authorization!.Parameter!;

    /// <summary>A request to an instance, sent again while the service answers 503 (a failover under way).</summary>
    public async Task<JsonNode> SendAsync(HttpMethod method, ServiceInstance instance, string path, object? body = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, new Uri(instance.Address, path));
            if (body is not null) request.Content = JsonContent.Create(body);
            using var answer = await Http.SendAsync(request);
            if ((int)answer.StatusCode == 503 && attempt < 60)
            {
                await Task.Delay(1000);
                continue;
            }

            return await ReadAsync(answer);
        }
    }

    private static async Task<JsonNode> ReadAsync(HttpResponseMessage answer)
    {
        var text = await answer.Content.ReadAsStringAsync();
        if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)answer.StatusCode} from {answer.RequestMessage?.RequestUri}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>A query of the drill's own, repeated while the cluster fails over.</summary>
    public async Task<T> QueryAsync<T>(Func<MySqlConnection, Task<T>> query)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new MySqlConnection(ConnectionString);
                await connection.OpenAsync();
                return await query(connection);
            }
            catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException && watch.Elapsed < TimeSpan.FromSeconds(90))
            {
                await Task.Delay(500);
            }
        }
    }

    public Task<long> InterfaceIdAsync(string name) =>
        QueryAsync(c => c.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @name", new { name }));

    public Task<(string Status, long Fetched, int? PartsDone, string? Error)> ExecutionAsync(string executionId) =>
        QueryAsync(c => c.QuerySingleAsync<(string, long, int?, string?)>(
            "SELECT status, COALESCE(rows_fetched, 0), parts_done, error_message FROM executions WHERE execution_id = @executionId", new { executionId }));

    /// <summary>Waits until <paramref name="condition"/> holds, at most <paramref name="patience"/>; false when it never did.</summary>
    public async Task<bool> WaitForAsync(Func<Task<bool>> condition, TimeSpan patience)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < patience)
        {
            if (await condition()) return true;
            await Task.Delay(500);
        }

        return false;
    }

    /// <summary>
    /// Kills (kill -9) the node the instances are connected to, checks the API through the failover, and starts the
    /// node again once the service answered (it rejoins the two that stayed), checking the API through that too.
    /// Returns the moment of the kill.
    /// </summary>
    public async Task<double> KillNodeAsync(string scenario)
    {
        var node = await Cluster.NodeWrittenToAsync(Database);
        var before = Probe!.Between(Now - 10, Now);
        await Cluster.KillAsync(node);
        var killedAt = Now;
        Console.WriteLine($"[drill] {scenario}: killed node {node} (kill -9) at {killedAt:0.0} s");
        await Task.Delay(TimeSpan.FromSeconds(20));
        // Slow is what no user would call an answer (5 s), or slower than anything the load gave before the kill.
        var slow = Math.Max(5, before.Slowest + 1);
        var seen = Probe!.Between(killedAt, Now, slow);
        foreach (var a in Probe.Answers.Where(a => a.SentAt >= killedAt && (a.Status != 200 || a.AnsweredAt - a.SentAt > 2)).OrderBy(a => a.SentAt))
        {
            Console.WriteLine($"[drill]   {a.Instance} {a.Kind} sent +{a.SentAt - killedAt:0.0} s, answered +{a.AnsweredAt - killedAt:0.0} s: {a.Status}");
        }

        var wrong = seen.Failures.Where(f => f.Status != 503 || f.Code != 5001).ToList();
        Report.Check($"{scenario}: the API answers again within 15 s of the kill (no error after that, no answer slower than {slow:0.0} s)", seen.AnsweringAfter <= 15,
            $"{seen.AnsweringAfter:0.0} s");
        Report.Check($"{scenario}: meanwhile only 503 in the envelope (5001), never a 500", wrong.Count == 0,
            $"{seen.Failures.Count} of {seen.Asked} probe answers were not 200: " + Describe(seen.Failures));
        Report.Figure($"{scenario}: time to recover after the kill",
            $"answering after {seen.AnsweringAfter:0.0} s, every answer within 2 s after {seen.PromptAfter:0.0} s; {seen.Failures.Count} of {seen.Asked} probe answers not 200; slowest sign-in (a write) {seen.SlowestWrite:0.0} s (in the 10 s before the kill: {before.SlowestWrite:0.0} s)");

        var restartedAt = Now;
        await Cluster.RestartAsync(node);
        var rejoined = Now;
        await Task.Delay(TimeSpan.FromSeconds(5));
        var rejoining = Probe.Between(restartedAt, Now);
        Report.Check($"{scenario}: while node {node} rejoins, never a 500", rejoining.Failures.All(f => f.Status == 503 && f.Code == 5001), Describe(rejoining.Failures));
        Report.Figure($"{scenario}: node {node} rejoined",
            $"{rejoined - restartedAt:0.0} s after its restart, by {Cluster.RejoinedBy(node)}; meanwhile {rejoining.Failures.Count} of {rejoining.Asked} probe answers not 200, slowest sign-in {rejoining.SlowestWrite:0.0} s");
        return killedAt;
    }

    private static string Describe(IReadOnlyList<ProbeAnswer> failures) =>
        failures.Count == 0 ? "none" : string.Join(", ", failures.GroupBy(f => (f.Kind, f.Status, f.Code)).Select(g => $"{g.Count()}x {g.Key.Kind} {g.Key.Status}/{g.Key.Code?.ToString(CultureInfo.InvariantCulture) ?? "no envelope"}"));
}
