namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// The locks held through one storage connection. Hangfire expects AcquireDistributedLock to be re-entrant
/// on the same connection object (a filter and core can both lock "job:1:state-lock"), so a second request
/// for a held resource only counts up, while another connection object still blocks.
/// </summary>
internal sealed class LockRegistry(MySqlStorage storage) : IDisposable
{
    private readonly Dictionary<string, Entry> _held = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();

    public IDisposable Acquire(string resource, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(resource);
        lock (_sync)
        {
            if (_held.TryGetValue(resource, out var entry))
            {
                entry.Count++;
                return new Handle(this, resource);
            }
        }

        var acquired = MySqlDistributedLock.Acquire(storage, resource, timeout);
        lock (_sync)
        {
            _held[resource] = new Entry(acquired);
        }

        return new Handle(this, resource);
    }

    /// <summary>
    /// Throws <see cref="DistributedLockLostException"/> when a lock held here is no longer held: its connection
    /// broke (the database node it was on died, a failover) and the server freed it, so another process may hold it
    /// now. Nothing done under such a lock may be committed as if it still excluded the others.
    /// </summary>
    public void EnsureHeld()
    {
        List<MySqlDistributedLock> all;
        lock (_sync)
        {
            if (_held.Count == 0)
            {
                return;
            }

            all = _held.Values.Select(e => e.Lock).ToList();
        }

        foreach (var held in all)
        {
            held.EnsureHeld();
        }
    }

    internal MySqlDistributedLock? Find(string resource)
    {
        lock (_sync)
        {
            return _held.TryGetValue(resource, out var entry) ? entry.Lock : null;
        }
    }

    private void Release(string resource)
    {
        MySqlDistributedLock? toRelease = null;
        lock (_sync)
        {
            if (_held.TryGetValue(resource, out var entry) && --entry.Count == 0)
            {
                _held.Remove(resource);
                toRelease = entry.Lock;
            }
        }

        toRelease?.Dispose();
    }

    public void Dispose()
    {
        List<MySqlDistributedLock> all;
        lock (_sync)
        {
            all = _held.Values.Select(e => e.Lock).ToList();
            _held.Clear();
        }

        foreach (var l in all)
        {
            l.Dispose();
        }
    }

    private sealed class Entry(MySqlDistributedLock distributedLock)
    {
        public MySqlDistributedLock Lock { get; } = distributedLock;
        public int Count { get; set; } = 1;
    }

    private sealed class Handle(LockRegistry owner, string resource) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(resource);
            }
        }
    }
}
