using System.Collections.Concurrent;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>The parted executions this instance takes part in, so it joins each once.</summary>
public sealed class PartParticipations(RunningExecutions running)
{
    private readonly ConcurrentDictionary<string, byte> active = new(StringComparer.Ordinal);

    /// <summary>This instance's name in execution_parts.worker, the same as its single runs': two instances in one process are told apart too.</summary>
    public string Worker => running.Worker;

    /// <summary>The parted runs this instance takes part in now.</summary>
    public IReadOnlyCollection<string> Ids => active.Keys.ToList();

    public bool TryEnter(string executionId) => active.TryAdd(executionId, 0);

    public void Leave(string executionId) => active.TryRemove(executionId, out _);

    public bool IsIn(string executionId) => active.ContainsKey(executionId);
}

/// <summary>What one instance's share of a parted run holds while it takes part.</summary>
internal sealed class Participation(string executionId, ExecutionPlan plan, int concurrency, string family, TimeSpan? partTimeout, RunWrite write)
{
    public string ExecutionId { get; } = executionId;
    public ExecutionPlan Plan { get; } = plan;
    public int Concurrency { get; } = concurrency;
    public string Family { get; } = family;
    public TimeSpan? PartTimeout { get; } = partTimeout;
    public ConcurrentDictionary<long, byte> Running { get; } = new();
    public ConcurrentBag<ReaderIndex> Indexes { get; } = [];
    public volatile bool Cancelled;
    public long Written;

    /// <summary>The last pause of the run's site family seen while it ran (its reason), for the result.</summary>
    public volatile string? SitePause;

    /// <summary>The participation's one write to the table, shared by its workers in turn (<see cref="RunWrite"/>).</summary>
    public RunWrite Write { get; } = write;
}
