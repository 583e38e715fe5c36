using System.Collections.Concurrent;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// What /data remembers between requests, per warehouse, table and filters: the exact row count, and for an
/// indexed order the sort keys of every <see cref="PagePositions.Step"/>-th row (so page N starts from the
/// nearest of them instead of skipping N x page_size rows). An entry is used only while the table's
/// warehouse_tables.last_updated_at is what it was when the entry was made: a run of the engine moves it, and
/// <see cref="TableWarmer"/> fills the entries again right after. Writes made by other means do not move it, so
/// a table is checked again when its entries are older than <see cref="Lifetime"/> (see <see cref="CheckDue"/>).
/// </summary>
public sealed class TableReadCache(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private const int MaxTotals = 10_000;
    private const int MaxPositions = 500;

    private readonly ConcurrentDictionary<string, Total> totals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PagePositions> positions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> checkedAt = new(StringComparer.Ordinal);

    private sealed record Total(long Count, DateTime? Stamp, long Taken);

    /// <summary>The part of every key that names one table of one warehouse.</summary>
    public static string TableKey(string warehouse, string table) => $"{warehouse}\u001e{table}\u001e";

    /// <summary>The key of a count: the table and its filters (<see cref="ManagedTables.Signature"/>).</summary>
    public static string CountKey(string tableKey, string filterSignature) => tableKey + filterSignature;

    /// <summary>The key of an order's positions: the count's key and the plan.</summary>
    public static string PositionsKey(string countKey, SortPlan plan) => $"{countKey}\u001e{plan.Signature()}";

    /// <summary>The cached count, or <paramref name="count"/>'s answer, remembered.</summary>
    public async Task<long> TotalAsync(string key, DateTime? stamp, Func<Task<long>> count)
    {
        if (Known(key, stamp) is { } known) return known;
        var counted = await count();
        Trim(totals, MaxTotals, t => time.GetElapsedTime(t.Taken) < Lifetime);
        totals[key] = new Total(counted, stamp, time.GetTimestamp());
        return counted;
    }

    /// <summary>The cached count for this key and table version, if any.</summary>
    public long? Known(string key, DateTime? stamp) => totals.TryGetValue(key, out var known) && known.Stamp == stamp ? known.Count : null;

    /// <summary>The positions of this order, or a new empty set of them (its step chosen from the total).</summary>
    public PagePositions Positions(string key, DateTime? stamp, long total)
    {
        if (positions.TryGetValue(key, out var known) && known.Stamp == stamp) return known;
        Trim(positions, MaxPositions, p => time.GetElapsedTime(p.Taken) < Lifetime);
        // At most about a thousand positions per order, at least 10,000 rows apart: a page then skips at most
        // one step of index entries.
        var step = Math.Max(10_000, (total + 999) / 1000);
        var fresh = new PagePositions(stamp, time.GetTimestamp(), step);
        return positions.AddOrUpdate(key, fresh, (_, existing) => existing.Stamp == stamp ? existing : fresh);
    }

    /// <summary>
    /// True once per <see cref="Lifetime"/> for a table whose entries are in use: the caller then checks in the
    /// background that the table still has the rows counted (<see cref="TableWarmer.Revalidate"/>).
    /// </summary>
    public bool CheckDue(string tableKey)
    {
        var now = time.GetTimestamp();
        var last = checkedAt.GetOrAdd(tableKey, now);
        if (last == now || time.GetElapsedTime(last) < Lifetime) return false;
        return checkedAt.TryUpdate(tableKey, now, last);
    }

    /// <summary>Forgets every count and position of a table.</summary>
    public void Invalidate(string tableKey)
    {
        foreach (var key in totals.Keys.Where(k => k.StartsWith(tableKey, StringComparison.Ordinal))) totals.TryRemove(key, out _);
        foreach (var key in positions.Keys.Where(k => k.StartsWith(tableKey, StringComparison.Ordinal))) positions.TryRemove(key, out _);
    }

    private static void Trim<T>(ConcurrentDictionary<string, T> entries, int max, Func<T, bool> recent)
    {
        if (entries.Count < max) return;
        foreach (var (key, value) in entries)
        {
            if (!recent(value)) entries.TryRemove(key, out _);
        }

        if (entries.Count >= max) entries.Clear();
    }
}

/// <summary>
/// Sort keys of the rows at positions Step - 1, 2 x Step - 1, ... of one order of one table (with its filters):
/// <c>Points[j]</c> holds the row at position (j + 1) x Step - 1. Found one step at a time, each from the one
/// before, when a page first needs them or when the table is warmed; <see cref="Ended"/> once the rows ran out.
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

    /// <summary>
    /// The start of the page at <paramref name="offset"/>: the keys of the nearest known position before it and
    /// the rows left to skip from there (fewer than a step). Positions not known yet are looked up one step at a
    /// time, each a range read of the index from the one before (LIMIT 1 OFFSET step - 1).
    /// </summary>
    public async Task<(IReadOnlyList<string?>? After, long Skip)> SeekAsync(
        MySqlConnection connection, string quoted, SortPlan plan, IReadOnlyList<ColumnFilter> filters, long offset, CancellationToken ct)
    {
        var needed = offset / Step - 1;
        if (needed < 0) return (null, offset);
        await Gate.WaitAsync(ct);
        try
        {
            while (Points.Count <= needed && !Ended)
            {
                var args = Arguments(plan, filters, Points.Count == 0 ? null : Points[^1], out var where);
                args.Add("skip", Step - 1);
                await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
                    $"SELECT {plan.SelectKeys()} FROM {quoted}{where}{plan.OrderBy()} LIMIT 1 OFFSET @skip", args, cancellationToken: ct));
                if (await reader.ReadAsync(ct))
                {
                    Points.Add(plan.Keys.Select((key, i) => KeyValues.Token(reader.GetValue(i), key)).ToArray());
                }
                else
                {
                    Ended = true;
                }
            }

            if (Points.Count == 0) return (null, offset);
            var used = Math.Min(needed, Points.Count - 1);
            return (Points[(int)used], offset - (used + 1) * Step);
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The filters, and the rows after <paramref name="after"/> when given, as a WHERE clause.</summary>
    public static DynamicParameters Arguments(SortPlan plan, IReadOnlyList<ColumnFilter> filters, IReadOnlyList<string?>? after, out string where)
    {
        var args = new DynamicParameters();
        var conditions = ManagedTables.Conditions(filters, args);
        if (after is not null) conditions.Add(plan.After(after, args));
        where = conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions);
        return args;
    }
}
