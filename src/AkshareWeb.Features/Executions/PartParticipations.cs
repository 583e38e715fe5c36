using System.Collections.Concurrent;

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
