using System.Globalization;
using AkshareWeb.Bench.Hangfire;

// Measures the MySQL Hangfire storage on this machine:
//   1. enqueue-to-start latency for jobs enqueued in the server's own process (local wake-up),
//   2. the same for jobs enqueued by another process (found by polling),
//   3. throughput of two servers with 10 workers each on no-op jobs.
// Usage: dotnet run -c Release --project bench/AkshareWeb.Bench.Hangfire -- "<server connection string>"
// Internal: ... --enqueue-child "<database connection string>" <prefix> <count> <gapMs>
if (args.Length >= 5 && args[0] == "--enqueue-child")
{
    Bench.EnqueueChild(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture));
    return 0;
}

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: AkshareWeb.Bench.Hangfire \"<MySQL server connection string>\"");
    return 2;
}

return Bench.Run(args[0]);
