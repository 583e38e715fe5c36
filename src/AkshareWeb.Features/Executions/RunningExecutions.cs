using System.Collections.Concurrent;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The runs this instance is running now. The watchdog takes a run whose heartbeat stopped for dead only when no
/// instance holds it: one held here is alive whatever its heartbeat says (the database may have stopped answering
/// it for a while), and it will record its own end.
/// </summary>
public sealed class RunningExecutions
{
    private readonly ConcurrentDictionary<string, byte> held = new(StringComparer.Ordinal);

    /// <summary>
    /// This instance's name in executions.worker, execution_parts.worker and execution_instances: the machine, the
    /// process and a random part, so two instances in one process (or two containers that are each process 1) are
    /// told apart.
    /// </summary>
    public string Worker { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public int Count => held.Count;

    public IReadOnlyCollection<string> Ids => held.Keys.ToList();

    public IDisposable Hold(string executionId)
    {
        held[executionId] = 0;
        return new Release(this, executionId);
    }

    private sealed class Release(RunningExecutions owner, string executionId) : IDisposable
    {
        public void Dispose() => owner.held.TryRemove(executionId, out _);
    }
}
