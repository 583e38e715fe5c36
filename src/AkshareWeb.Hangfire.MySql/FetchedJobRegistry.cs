using System.Collections.Concurrent;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>The claims this process currently holds, whose invisibility the keep-alive keeps sliding.</summary>
internal sealed class FetchedJobRegistry
{
    private readonly ConcurrentDictionary<MySqlFetchedJob, byte> _jobs = new(ReferenceEqualityComparer.Instance);

    public void Add(MySqlFetchedJob job) => _jobs.TryAdd(job, 0);

    public void Remove(MySqlFetchedJob job) => _jobs.TryRemove(job, out _);

    public IReadOnlyList<MySqlFetchedJob> Snapshot() => _jobs.Keys.ToList();
}
