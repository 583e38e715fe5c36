using System.Collections.Concurrent;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>What one instance's share of a parted run holds while it takes part.</summary>
internal sealed class Participation(ClaimedRun run, int concurrency, string family, RunWrite write)
{
    public ClaimedRun Run { get; } = run;

    public string ExecutionId => Run.ExecutionId;

    public ExecutionPlan Plan => Run.Plan;

    /// <summary>Parts at once, for the run as a whole (shared among the instances taking part).</summary>
    public int Concurrency { get; } = concurrency;

    public string Family { get; } = family;

    /// <summary>The time each part may take; none for the benchmarks.</summary>
    public TimeSpan? PartTimeout => Run.Timeout;

    /// <summary>This instance's parts running now, by id.</summary>
    public ConcurrentDictionary<long, byte> Running { get; } = new();

    /// <summary>Indexes the participation's write left for readers, built once the run's end is recorded.</summary>
    public ConcurrentBag<ReaderIndex> Indexes { get; } = [];

    public volatile bool Cancelled;

    /// <summary>Rows this instance's parts wrote.</summary>
    public long Written;

    /// <summary>The last pause of the run's site family seen while it ran (its reason), for the result.</summary>
    public volatile string? SitePause;

    /// <summary>The participation's one write to the table, shared by its workers in turn (<see cref="RunWrite"/>).</summary>
    public RunWrite Write { get; } = write;
}
