using System.Collections.Concurrent;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// What /data remembers between requests, per warehouse, table and filters: the exact row count, and for an
/// indexed order the sort keys of every <see cref="PagePositions.Step"/>-th row (so page N starts from the
/// nearest of them instead of skipping N x page_size rows). An entry is used only while the table's
/// warehouse_tables.last_updated_at is what it was when the entry was made, and for at most
/// <see cref="Lifetime"/>, so writes made by other means than the engine show within that time.
/// </summary>
public sealed class TableReadCache(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private const int MaxTotals = 10_000;
    private const int MaxPositions = 500;

    private readonly ConcurrentDictionary<string, Total> totals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PagePositions> positions = new(StringComparer.Ordinal);

    private sealed record Total(long Count, DateTime? Stamp, long Taken);

    /// <summary>The cached count, or <paramref name="count"/>'s answer, remembered.</summary>
    public async Task<long> TotalAsync(string key, DateTime? stamp, Func<Task<long>> count)
    {
        if (totals.TryGetValue(key, out var known) && Fresh(known.Stamp, known.Taken, stamp)) return known.Count;
        // Timed from before the count: rows written while it runs are in a later entry, never hidden longer.
        var taken = time.GetTimestamp();
        var counted = await count();
        Trim(totals, MaxTotals, t => Fresh(t.Stamp, t.Taken, t.Stamp));
        totals[key] = new Total(counted, stamp, taken);
        return counted;
    }

    /// <summary>The positions of this order, or a new empty set of them (its step chosen from the total).</summary>
    public PagePositions Positions(string key, DateTime? stamp, long total)
    {
        if (positions.TryGetValue(key, out var known) && Fresh(known.Stamp, known.Taken, stamp)) return known;
        Trim(positions, MaxPositions, p => Fresh(p.Stamp, p.Taken, p.Stamp));
        // At most about a thousand positions per order, at least 10,000 rows apart: a page then skips at most
        // one step of index entries.
        var step = Math.Max(10_000, (total + 999) / 1000);
        var fresh = new PagePositions(stamp, time.GetTimestamp(), step);
        return positions.AddOrUpdate(key, fresh, (_, existing) => Fresh(existing.Stamp, existing.Taken, stamp) ? existing : fresh);
    }

    private bool Fresh(DateTime? entryStamp, long taken, DateTime? stamp) => entryStamp == stamp && time.GetElapsedTime(taken) < Lifetime;

    private static void Trim<T>(ConcurrentDictionary<string, T> entries, int max, Func<T, bool> fresh)
    {
        if (entries.Count < max) return;
        foreach (var (key, value) in entries)
        {
            if (!fresh(value)) entries.TryRemove(key, out _);
        }

        if (entries.Count >= max) entries.Clear();
    }
}

/// <summary>
/// Sort keys of the rows at positions Step - 1, 2 x Step - 1, ... of one order of one table (with its filters):
/// <c>Points[j]</c> holds the row at position (j + 1) x Step - 1. Found one step at a time, each from the one
/// before, when a page first needs them; <see cref="Ended"/> once the rows ran out.
/// </summary>
public sealed class PagePositions(DateTime? stamp, long taken, long step)
{
    public DateTime? Stamp { get; } = stamp;
    public long Taken { get; } = taken;
    public long Step { get; } = step;

    /// <summary>Held while points are looked up, so concurrent requests do not look up the same ones.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public List<IReadOnlyList<string?>> Points { get; } = [];

    public bool Ended { get; set; }
}
