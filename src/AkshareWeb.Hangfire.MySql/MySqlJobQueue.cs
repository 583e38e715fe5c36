using Dapper;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Hands queued jobs to workers. Claiming is a short READ COMMITTED transaction: SELECT ... FOR UPDATE
/// SKIP LOCKED picks the oldest visible row without queueing behind rows that other fetchers are
/// claiming, then the row is stamped with a fresh fetch token and time. Idle workers do not poll on
/// their own: they wait for a signal, which comes from a commit in this process that enqueued into one
/// of their queues, from a worker that just claimed a job (there may be more), or from one shared
/// ticker per process that stands in for jobs enqueued by other processes.
/// </summary>
internal sealed class MySqlJobQueue
{
    private readonly MySqlStorage _storage;
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly Lock _sync = new();
    private ITimer? _ticker;

    public MySqlJobQueue(MySqlStorage storage) => _storage = storage;

    public MySqlFetchedJob Dequeue(string[] queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queues);
        if (queues.Length == 0)
        {
            throw new ArgumentException("At least one queue is required.", nameof(queues));
        }

        // Registered before the first attempt, so an enqueue that commits while we look is not missed.
        var waiter = Register(queues);
        MySqlFetchedJob? fetched;
        try
        {
            while ((fetched = TryClaim(queues, cancellationToken)) is null)
            {
                waiter.Wait(cancellationToken);
            }
        }
        finally
        {
            Unregister(waiter);
        }

        // The queue may hold more: let the next idle worker look as well.
        Signal(fetched.Queue);
        return fetched;
    }

    /// <summary>Wakes one idle worker listening on <paramref name="queue"/>, if any.</summary>
    public void Signal(string queue)
    {
        lock (_sync)
        {
            for (var node = _waiters.First; node is not null; node = node.Next)
            {
                if (!node.Value.IsSignalled && node.Value.Listens(queue))
                {
                    node.Value.Set(queue);
                    // Round-robin, so the same worker is not always the one woken.
                    _waiters.Remove(node);
                    _waiters.AddLast(node);
                    return;
                }
            }
        }
    }

    internal MySqlFetchedJob? TryClaim(string[] queues, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var t = _storage.Tables;
        var token = Guid.NewGuid().ToString("N");
        var invisibilityMicroseconds = (long)_storage.Options.InvisibilityTimeout.TotalMicroseconds;
        var claimed = _storage.UseTransaction((connection, transaction) =>
        {
            // One statement per queue, in the caller's order: Hangfire's queue list is a priority list.
            foreach (var queue in queues)
            {
                var row = connection.QuerySingleOrDefault<QueueRow>(
                    $"""
                    SELECT `Id`, `JobId`, `Queue` FROM {t.JobQueue}
                    WHERE `Queue` = @queue
                      AND (`FetchedAt` IS NULL OR `FetchedAt` < UTC_TIMESTAMP(6) - INTERVAL @invisibilityMicroseconds MICROSECOND)
                    ORDER BY `Id`
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED
                    """,
                    new { queue, invisibilityMicroseconds },
                    transaction);
                if (row is null)
                {
                    continue;
                }

                connection.Execute(
                    $"UPDATE {t.JobQueue} SET `FetchedAt` = UTC_TIMESTAMP(6), `FetchToken` = @token WHERE `Id` = @Id",
                    new { token, row.Id },
                    transaction);
                return row;
            }

            return null;
        });

        return claimed is null
            ? null
            : new MySqlFetchedJob(_storage, claimed.Id, claimed.JobId.ToString(System.Globalization.CultureInfo.InvariantCulture), claimed.Queue, token);
    }

    private Waiter Register(string[] queues)
    {
        var waiter = new Waiter(queues);
        lock (_sync)
        {
            _waiters.AddLast(waiter);
            _ticker ??= _storage.Clock.CreateTimer(_ => Tick(), null, _storage.Options.QueuePollInterval, _storage.Options.QueuePollInterval);
        }

        return waiter;
    }

    private void Unregister(Waiter waiter)
    {
        string? pending;
        lock (_sync)
        {
            _waiters.Remove(waiter);
            pending = waiter.TakePendingSignal();
            if (_waiters.Count == 0 && _ticker is not null)
            {
                _ticker.Dispose();
                _ticker = null;
            }
        }

        // A signal that reached a worker which then left (it found a job itself, or was cancelled)
        // belongs to someone else.
        if (pending is not null)
        {
            Signal(pending);
        }

        waiter.Dispose();
    }

    private void Tick()
    {
        // One wake-up per distinct set of queues per interval: that worker polls the database, and if it
        // finds a job it passes the signal on. An idle process therefore costs one query per interval.
        lock (_sync)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var waiter in _waiters)
            {
                if (seen.Add(waiter.QueueSetKey) && !waiter.IsSignalled)
                {
                    waiter.Set(waiter.Queues[0]);
                }
            }
        }
    }

    private sealed record QueueRow(long Id, long JobId, string Queue);

    private sealed class Waiter(string[] queues) : IDisposable
    {
        private readonly SemaphoreSlim _semaphore = new(0, 1);
        private string? _signalQueue;

        public string[] Queues { get; } = queues;

        public string QueueSetKey { get; } = string.Join('\n', queues);

        public bool IsSignalled => _signalQueue is not null;

        public bool Listens(string queue) => Array.IndexOf(Queues, queue) >= 0;

        // Called under the queue's lock.
        public void Set(string queue)
        {
            _signalQueue = queue;
            _semaphore.Release();
        }

        // Called under the queue's lock.
        public string? TakePendingSignal()
        {
            var pending = _signalQueue;
            _signalQueue = null;
            return pending;
        }

        public void Wait(CancellationToken cancellationToken)
        {
            _semaphore.Wait(cancellationToken);
            Interlocked.Exchange(ref _signalQueue, null);
        }

        public void Dispose() => _semaphore.Dispose();
    }
}
