using System.Collections.Concurrent;
using Hangfire;

namespace AkshareWeb.Hangfire.MySql.Tests;

/// <summary>Job bodies for the end-to-end tests; every test uses its own tags, so tests never share state.</summary>
public static class EndToEndJobs
{
    private static long _sequence;

    public static ConcurrentDictionary<string, int> Runs { get; } = new();

    public static ConcurrentDictionary<string, long> FinishedAt { get; } = new();

    public static ConcurrentDictionary<string, DateTime> StartedAtUtc { get; } = new();

    public static ConcurrentDictionary<string, int> InsideExclusive { get; } = new();

    public static ConcurrentDictionary<string, int> MaxInsideExclusive { get; } = new();

    public static ConcurrentDictionary<string, ManualResetEventSlim> Gates { get; } = new();

    public static void Count(string tag)
    {
        StartedAtUtc.TryAdd(tag, DateTime.UtcNow);
        Runs.AddOrUpdate(tag, 1, (_, n) => n + 1);
        FinishedAt[tag] = Interlocked.Increment(ref _sequence);
    }

    public static void Slow(string tag, int milliseconds)
    {
        Thread.Sleep(milliseconds);
        Count(tag);
    }

    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [1])]
    public static void AlwaysFails(string tag)
    {
        Count(tag);
        throw new InvalidOperationException($"planned failure of {tag}");
    }

    [DisableConcurrentExecution(timeoutInSeconds: 1)]
    [AutomaticRetry(Attempts = 0)]
    public static void Exclusive(string group, string tag, int milliseconds)
    {
        var inside = InsideExclusive.AddOrUpdate(group, 1, (_, n) => n + 1);
        MaxInsideExclusive.AddOrUpdate(group, inside, (_, n) => Math.Max(n, inside));
        Thread.Sleep(milliseconds);
        InsideExclusive.AddOrUpdate(group, 0, (_, n) => n - 1);
        Count(tag);
    }

    /// <summary>The first run blocks on its gate (its server "dies" meanwhile); any later run completes.</summary>
    public static void StuckOnFirstRun(string tag)
    {
        var attempt = Runs.AddOrUpdate(tag + ":attempt", 1, (_, n) => n + 1);
        if (attempt == 1)
        {
            Gates.GetOrAdd(tag, _ => new ManualResetEventSlim()).Wait(TimeSpan.FromMinutes(2));
            return;
        }

        Count(tag);
    }
}
