using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>Configuration section <c>Tables</c>.</summary>
public sealed class TableOptions
{
    public const string Section = "Tables";

    /// <summary>
    /// Sorting a large table by a column no index starts with builds one (<see cref="SortIndexes"/>). Off, such a
    /// sort stays a sort of the whole table on every request.
    /// </summary>
    public bool IndexSortedColumns { get; set; } = true;

    /// <summary>At most this many indexes made for sorting on one table.</summary>
    public int MaxSortIndexes { get; set; } = 16;
}

/// <summary>
/// Indexes that follow what people sort by. A page of a table of <see cref="TableWarmer.Threshold"/> rows or more
/// sorted by a column that no index starts with costs a sort of the whole table (about 200 ms for a million rows),
/// on every request and at every depth; the first such request asks for an index on the column
/// (<c>ix_sort_&lt;column&gt;</c>), built in the background under the table's write lock (online: reads, exports
/// and the runs waiting for the lock resume as soon as it is in), after which the table is made ready again and
/// pages in that order cost what pages by date cost. One build at a time for the whole service; a column asked
/// for again within <see cref="RetryAfter"/> (a build that failed, or one still waiting) is not asked again. A
/// build that cannot have the table to itself within 10 s (a long export is reading it) gives up rather than
/// hold up the requests queued behind it, and is asked again later.
/// </summary>
public sealed partial class SortIndexes(WarehouseDatabase warehouse, TableChanges writes, IOptions<TableOptions> options, TimeProvider time, ILogger<SortIndexes> logger)
{
    public const string Prefix = IndexNames.SortPrefix;
    public static readonly TimeSpan RetryAfter = TimeSpan.FromMinutes(10);

    /// <summary>How long a build may wait for the table to itself (see <see cref="ReaderIndexes.BuildAsync"/>).</summary>
    private const int LockWaitSeconds = 10;

    private readonly Lock queueLock = new();
    private Task queue = Task.CompletedTask;
    private readonly ConcurrentDictionary<(string Table, string Column), DateTimeOffset> asked = new();

    /// <summary>
    /// Columns an index can hold whole (and so deliver in order): numbers, dates and times, and strings of at most
    /// 768 characters (3,072 bytes in utf8mb4, InnoDB's limit for a key). Longer text would get a prefix index,
    /// which orders nothing.
    /// </summary>
    public static bool Indexable(TableColumn column)
    {
        var type = column.Type;
        var text = TextType().Match(type);
        if (text.Success) return int.Parse(text.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) <= 768;
        return OrderedType().IsMatch(type);
    }

    /// <summary>
    /// Called by a request that sorts <paramref name="table"/> (<paramref name="rows"/> rows) by a column no index
    /// starts with; returns at once.
    /// </summary>
    public void Request(ManagedTable table, TableColumn column, long rows, IReadOnlyList<TableIndex> indexes)
    {
        var settings = options.Value;
        if (!settings.IndexSortedColumns || rows < TableWarmer.Threshold || ManagedTables.Hidden.Contains(column.Name) || !Indexable(column)) return;
        if (indexes.Count(i => IndexNames.IsSort(i.Name)) >= settings.MaxSortIndexes) return;

        var key = (table.Name, column.Name);
        var now = time.GetUtcNow();
        while (!asked.TryAdd(key, now))
        {
            // Of concurrent requests for one column, only the one that stores its time asks for the build.
            if (!asked.TryGetValue(key, out var last)) continue;
            if (now - last < RetryAfter) return;
            if (asked.TryUpdate(key, now, last)) break;
        }

        lock (queueLock)
        {
            // Chained: one build at a time, in the order asked.
            queue = queue.ContinueWith(_ => BuildAsync(table.Name, column.Name, rows), CancellationToken.None,
                TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private async Task BuildAsync(string table, string column, long rows)
    {
        try
        {
            var started = time.GetTimestamp();
            var index = new ReaderIndex(IndexNames.Sort(column), column);
            if (await ReaderIndexes.BuildAsync(warehouse, table, [index], CancellationToken.None, LockWaitSeconds))
            {
                logger.LogInformation("Indexed {Table}.{Column} for sorting ({Index}, {Rows} rows) in {Milliseconds:0} ms",
                    table, column, index.Name, rows, time.GetElapsedTime(started).TotalMilliseconds);
                writes.NotifyRowsChanged(table);
            }
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Indexing {Table}.{Column} for sorting failed; asked again after {Minutes} minutes", table, column, RetryAfter.TotalMinutes);
        }
    }

    [GeneratedRegex(@"^(?:VAR)?CHAR\((\d+)\)")]
    private static partial Regex TextType();

    [GeneratedRegex(@"^(?:TINYINT|SMALLINT|MEDIUMINT|INT|BIGINT|DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC|DATE|DATETIME|TIMESTAMP|TIME|YEAR)\b")]
    private static partial Regex OrderedType();
}
