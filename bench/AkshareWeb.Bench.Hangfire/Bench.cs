using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AkshareWeb.Hangfire.MySql;
using Hangfire;
using MySqlConnector;

namespace AkshareWeb.Bench.Hangfire;

public static class BenchJobs
{
    public static ConcurrentQueue<double> LatenciesMs { get; } = new();

    private static int _completed;

    public static int Completed => Volatile.Read(ref _completed);

    public static void Started(long enqueuedUnixMicroseconds)
    {
        var now = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
        LatenciesMs.Enqueue((now - enqueuedUnixMicroseconds) / 1000.0);
    }

    public static void Noop() => Interlocked.Increment(ref _completed);

    public static long NowMicros() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
}

public static class Bench
{
    private const int LocalJobs = 200;
    private const int RemoteJobs = 60;
    private const int ThroughputJobs = 3000;

    public static int Run(string serverConnectionString)
    {
        var database = $"hfbench_{Guid.NewGuid():N}"[..24];
        Execute(serverConnectionString, $"CREATE DATABASE `{database}`");
        var connectionString = new MySqlConnectionStringBuilder(serverConnectionString) { Database = database }.ConnectionString;
        try
        {
            Console.WriteLine($"Hangfire MySQL storage benchmark ({Environment.ProcessorCount} cores, {RuntimeInfo()})");
            var options = new MySqlStorageOptions();
            Console.WriteLine($"options: QueuePollInterval={options.QueuePollInterval.TotalMilliseconds} ms (default), 10 workers per server");

            LocalLatency(connectionString);
            RemoteLatency(connectionString, options.QueuePollInterval);
            RemoteLatency(connectionString, TimeSpan.FromMilliseconds(100));
            Throughput(connectionString);
            return 0;
        }
        finally
        {
            MySqlConnection.ClearAllPools();
            Execute(serverConnectionString, $"DROP DATABASE IF EXISTS `{database}`");
        }
    }

    private static void LocalLatency(string connectionString)
    {
        var storage = new MySqlStorage(connectionString, new MySqlStorageOptions { TablesPrefix = "local_" });
        using var server = StartServer(storage, "local");
        var client = new BackgroundJobClient(storage);
        WarmUp(client);
        BenchJobs.LatenciesMs.Clear();
        for (var i = 0; i < LocalJobs; i++)
        {
            client.Enqueue(() => BenchJobs.Started(BenchJobs.NowMicros()));
            Thread.Sleep(20); // idle workers between jobs: this measures wake-up, not queueing
        }

        WaitFor(() => BenchJobs.LatenciesMs.Count >= LocalJobs);
        Report("enqueue-to-start, same process", BenchJobs.LatenciesMs);
    }

    private static void RemoteLatency(string connectionString, TimeSpan pollInterval)
    {
        var prefix = $"remote{(int)pollInterval.TotalMilliseconds}_";
        var storage = new MySqlStorage(connectionString, new MySqlStorageOptions { TablesPrefix = prefix, QueuePollInterval = pollInterval });
        using var server = StartServer(storage, "remote");
        WarmUp(new BackgroundJobClient(storage));
        BenchJobs.LatenciesMs.Clear();

        var self = Environment.ProcessPath!;
        var isDotnetHost = Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        if (isDotnetHost)
        {
            start.ArgumentList.Add(typeof(Bench).Assembly.Location);
        }

        foreach (var arg in new[] { "--enqueue-child", connectionString, prefix, RemoteJobs.ToString(CultureInfo.InvariantCulture), "150" })
        {
            start.ArgumentList.Add(arg);
        }

        using (var child = Process.Start(start)!)
        {
            child.WaitForExit();
            if (child.ExitCode != 0)
            {
                throw new InvalidOperationException($"enqueue child exited with {child.ExitCode}");
            }
        }

        WaitFor(() => BenchJobs.LatenciesMs.Count >= RemoteJobs);
        Report($"enqueue-to-start, other process (poll {pollInterval.TotalMilliseconds} ms)", BenchJobs.LatenciesMs);
    }

    public static void EnqueueChild(string connectionString, string prefix, int count, int gapMs)
    {
        var storage = new MySqlStorage(connectionString, new MySqlStorageOptions { TablesPrefix = prefix });
        var client = new BackgroundJobClient(storage);
        for (var i = 0; i < count; i++)
        {
            client.Enqueue(() => BenchJobs.Started(BenchJobs.NowMicros()));
            // Spread over the poll interval, so the figures are not all "just missed" or "just caught".
            Thread.Sleep(gapMs + Random.Shared.Next(0, 50));
        }
    }

    private static void Throughput(string connectionString)
    {
        var a = new MySqlStorage(connectionString, new MySqlStorageOptions { TablesPrefix = "tp_" });
        var b = new MySqlStorage(connectionString, new MySqlStorageOptions { TablesPrefix = "tp_" });
        var client = new BackgroundJobClient(a);
        var baseline = BenchJobs.Completed;
        Parallel.For(0, ThroughputJobs, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ => client.Enqueue(() => BenchJobs.Noop()));

        var watch = Stopwatch.StartNew();
        using (StartServer(a, "tp-a"))
        using (StartServer(b, "tp-b"))
        {
            WaitFor(() => BenchJobs.Completed - baseline >= ThroughputJobs);
            watch.Stop();
        }

        Console.WriteLine(
            $"throughput, 2 servers x 10 workers, {ThroughputJobs} no-op jobs: {ThroughputJobs / watch.Elapsed.TotalSeconds:F0} jobs/s ({watch.Elapsed.TotalSeconds:F1} s)");
    }

    private static BackgroundJobServer StartServer(JobStorage storage, string name)
        => new(new BackgroundJobServerOptions { ServerName = $"bench-{name}-{Guid.NewGuid():N}", WorkerCount = 10 }, storage);

    private static void WarmUp(BackgroundJobClient client)
    {
        var before = BenchJobs.Completed;
        for (var i = 0; i < 10; i++)
        {
            client.Enqueue(() => BenchJobs.Noop());
        }

        WaitFor(() => BenchJobs.Completed - before >= 10);
    }

    private static void Report(string title, IEnumerable<double> samples)
    {
        var sorted = samples.OrderBy(x => x).ToArray();
        double Percentile(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        Console.WriteLine($"{title}: n={sorted.Length} median={Percentile(0.5):F1} ms p99={Percentile(0.99):F1} ms max={sorted[^1]:F1} ms");
    }

    private static void WaitFor(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException("benchmark step did not finish in 5 minutes");
            }

            Thread.Sleep(5);
        }
    }

    private static void Execute(string connectionString, string sql)
    {
        using var connection = new MySqlConnection(connectionString);
        connection.Open();
        using var command = new MySqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    private static string RuntimeInfo() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
}
