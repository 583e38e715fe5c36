using Microsoft.AspNetCore.Http;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>The figures of a table and range: keys, complete ones, ones with gaps, stale ones, missing days in all
/// (weeks and months for keys of weekly and monthly bars) and days confirmed empty; <c>through</c> is the last day
/// that counted.</summary>
public sealed record CoverageSummary(DateOnly? Through, long Keys, long Complete, long WithGaps, long Stale, long MissingDays, long ConfirmedEmptyDays);

/// <summary>What a coverage reading is asked: a range, which keys (status, filters) and which page of them; no page
/// for the summary alone.</summary>
public sealed record CoverageRequest(DateOnly? From, DateOnly? To, string Status, IQueryCollection Filters, PageRequest? Paging);

/// <summary>A reading: the table's coverage shape, the calendar and window used, the summary, the page's keys, and the
/// confirmed-empty marks in the window that a stored row outweighs (the day has its row since).</summary>
public sealed record CoverageReading(CoverageShape Shape, CalendarView Calendar, CoverageWindow Window, CoverageSummary Summary,
    IReadOnlyList<KeyCoverage> Items, long Total, IReadOnlyList<ConfirmedEmptyDay> Outweighed);

/// <summary>
/// Reads a table's coverage against the trading calendar (<see cref="CoverageFigures"/> for the SQL,
/// <see cref="CoverageMath"/> for the counting). Used by GET /api/tables/{table}/coverage and by
/// <see cref="CoverageSummaries"/>, which keeps each table's summary for the table views and the metric.
/// </summary>
public sealed class CoverageReader(
    ManagedTables tables, WarehouseTables registry, WarehouseDatabase warehouse, TradingCalendar calendar, MarketTime market, ConfirmedEmptyDays marks)
{
    public const string All = "all";
    public const string Gaps = "gaps";
    public const string Complete = "complete";
    public static readonly IReadOnlyList<string> Statuses = [All, Gaps, Complete];

    public async Task<CoverageReading> ReadAsync(string tableName, CoverageRequest request, CancellationToken ct)
    {
        var shape = await CoverageShape.ResolveAsync(tables, registry, warehouse, tableName, ct);
        var filters = KeyFilters(shape, request.Filters);
        var view = await calendar.CurrentAsync(ct);
        var days = view.Days;
        var window = CoverageWindow.Of(days, market.Now, market.CloseTime, request.From, request.To);

        List<KeyFigures> keys;
        await using (var connection = await warehouse.OpenAsync(ct))
        {
            var off = window.End >= window.Lower ? await CoverageFigures.OffCalendarDaysAsync(connection, shape, window, days, ct) : [];
            keys = await CoverageFigures.KeysAsync(c => warehouse.OpenAsync(c), connection, shape, filters, window, off, ct);
            var byJson = keys.ToDictionary(k => k.Json, StringComparer.Ordinal);
            foreach (var unit in new[] { CalendarUnit.Week, CalendarUnit.Month })
            {
                if (!keys.Any(k => k.Unit == unit)) continue;
                // A row on a day whose whole week (month) has no trading day is no expected row either.
                var offUnit = off.Where(d => !HasTradingDay(days, d, unit)).ToList();
                await CoverageFigures.CountUnitsAsync(connection, shape, filters, window, unit, offUnit, byJson, ct);
            }

            if (window.End >= window.Lower)
            {
                var hashes = keys.ToDictionary(k => Convert.ToHexString(k.Hash), StringComparer.Ordinal);
                foreach (var mark in await marks.ReadAsync(shape.Name, window.Lower, window.End, ct))
                {
                    if (hashes.TryGetValue(Convert.ToHexString(mark.KeyHash), out var key)) key.Marks.Add(mark.Day);
                }

                // A key with marks is counted day by day: a mark on a day that has a row since does not count.
                await CoverageFigures.ReadDatesAsync(connection, shape, keys.Where(k => k.Marks.Count > 0).ToList(), window, ct);
            }

            var outweighed = Outweighed(keys);

            var counts = keys.Select(k => (Key: k, Count: CoverageMath.Count(k, window, days))).ToList();
            var summary = new CoverageSummary(window.End >= window.Lower ? window.End : null, counts.Count,
                counts.Count(c => c.Count.Missing == 0), counts.Count(c => c.Count.Missing > 0), counts.Count(c => c.Count.Stale),
                counts.Sum(c => (long)c.Count.Missing), counts.Sum(c => (long)c.Count.Confirmed));
            if (request.Paging is not { } paging) return new CoverageReading(shape, view, window, summary, [], counts.Count, outweighed);

            var chosen = counts.Where(c => request.Status switch
                {
                    Gaps => c.Count.Missing > 0,
                    Complete => c.Count.Missing == 0,
                    _ => true,
                })
                .OrderBy(c => c.Key.Values, KeyOrder.Instance)
                .ToList();
            var page = chosen.Skip(paging.Offset).Take(paging.PageSize).ToList();
            // Only the keys shown with gaps need their days, to name them.
            await CoverageFigures.ReadDatesAsync(connection, shape, page.Where(c => c.Count.Missing > 0 || c.Count.Confirmed > 0).Select(c => c.Key).ToList(), window, ct);
            var items = page.Select(c => Item(shape, c.Key, CoverageMath.Count(c.Key, window, days))).ToList();
            return new CoverageReading(shape, view, window, summary, items, chosen.Count, outweighed);
        }
    }

    /// <summary>The marks on days (weeks, months) that have a stored row: those keys' dates were read with their marks.</summary>
    private static List<ConfirmedEmptyDay> Outweighed(IEnumerable<KeyFigures> keys)
    {
        var result = new List<ConfirmedEmptyDay>();
        foreach (var key in keys.Where(k => k.Marks.Count > 0 && k.Dates is not null))
        {
            var stored = key.Dates!.Select(d => TradingDays.UnitStart(d, key.Unit)).ToHashSet();
            result.AddRange(key.Marks.Where(m => stored.Contains(TradingDays.UnitStart(m, key.Unit))).Select(m => new ConfirmedEmptyDay(key.Hash, m)));
        }

        return result;
    }

    private static KeyCoverage Item(CoverageShape shape, KeyFigures key, KeyCount count)
    {
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < shape.KeyColumns.Count; i++) named[shape.KeyColumns[i].OriginalName] = key.Values[i];
        return new KeyCoverage(named, CoverageMath.UnitName(key.Unit), key.First, key.Last, count.Expected, count.Stored, count.Missing,
            count.MissingDays ?? [], count.MissingRanges ?? [], count.Confirmed, count.ConfirmedDays ?? [], count.Stale);
    }

    /// <summary>The data page's filters (<see cref="ManagedTables.Filters"/>), allowed on the key columns only: a filter on
    /// another column would count some of a key's rows and call the rest missing.</summary>
    private static IReadOnlyList<ColumnFilter> KeyFilters(CoverageShape shape, IQueryCollection query)
    {
        var filters = ManagedTables.Filters(query, shape.Table.Columns);
        var keyNames = shape.KeyColumns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var wrong = filters.Where(f => !keyNames.Contains(f.Column.Name)).Select(f => f.Column).Distinct().ToList();
        if (wrong.Count == 0) return filters;
        var allowed = shape.KeyColumns.Count == 0 ? "this table's key has no column but its date" : "key columns: " + string.Join(", ", shape.KeyColumns.Select(c => c.OriginalName));
        throw new ApiError(422, ErrorCodes.ValidationFailed, "invalid filters", wrong.Select(c => new FieldError($"filter[{c.OriginalName}]",
            c.Name == shape.DateColumn.Name
                ? $"{c.OriginalName} is the date: give the range as from and to"
                : $"coverage filters narrow the keys, so they name key columns ({allowed})")).ToList());
    }

    private static bool HasTradingDay(TradingDays days, DateOnly day, CalendarUnit unit)
    {
        var start = TradingDays.UnitStart(day, unit);
        var end = unit == CalendarUnit.Week ? start.AddDays(6) : start.AddMonths(1).AddDays(-1);
        return days.Between(start, end).GetOffsetAndLength(days.Count).Length > 0;
    }

    /// <summary>Keys in the order of their values, column by column: nulls first, numbers by value, the rest as text.</summary>
    private sealed class KeyOrder : IComparer<object?[]>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare(object?[]? x, object?[]? y)
        {
            for (var i = 0; i < Math.Min(x!.Length, y!.Length); i++)
            {
                var order = (x[i], y[i]) switch
                {
                    (null, null) => 0,
                    (null, _) => -1,
                    (_, null) => 1,
                    (IConvertible a, IConvertible b) when a is not string && b is not string =>
                        Convert.ToDouble(a, System.Globalization.CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, System.Globalization.CultureInfo.InvariantCulture)),
                    var (a, b) => string.CompareOrdinal(Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture), Convert.ToString(b, System.Globalization.CultureInfo.InvariantCulture)),
                };
                if (order != 0) return order;
            }

            return 0;
        }
    }
}
