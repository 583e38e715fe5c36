using System.Globalization;
using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>One key's figures as the database gives them, and what coverage learns of it on the way.</summary>
public sealed class KeyFigures(object?[] values, string json, DateOnly first, DateOnly last, int storedDays)
{
    /// <summary>The key columns' values (dates as YYYY-MM-DD text), in key order.</summary>
    public object?[] Values { get; } = values;
    public string Json { get; } = json;
    public byte[] Hash { get; } = Warehouse.ConfirmedEmptyDays.KeyHash(json);
    public DateOnly First { get; } = first;
    public DateOnly Last { get; } = last;
    /// <summary>Distinct trading days stored in the window (for a weekly or monthly key, replaced by its units).</summary>
    public int Stored { get; set; } = storedDays;
    public CalendarUnit Unit { get; set; }
    /// <summary>Its stored days in the window, when they were read (only for the keys that need them).</summary>
    public List<DateOnly>? Dates { get; set; }
    public List<DateOnly> Marks { get; } = [];
}

/// <summary>
/// The SQL of coverage. The whole table is read once, grouped by key (first and last date, stored days in the window):
/// over the natural key's index that is one pass, and the rest is arithmetic against the calendar in memory. Only
/// keys whose days are needed one by one (those shown with gaps, and those with confirmed-empty marks) have their dates
/// read, a few keys per query through the key's index. Identifiers come from information_schema
/// (<see cref="ManagedTables"/>); values are parameters.
/// </summary>
public static class CoverageFigures
{
    private const int KeysPerDateQuery = 200;

    /// <summary>The pass over every row is cut in pieces of at least this many groups, at most <see cref="MaxPieces"/>.</summary>
    private const int GroupsPerPiece = 500;
    private const int MaxPieces = 4;

    /// <summary>Opens another connection to the warehouse, for a piece read at the same time as others.</summary>
    public delegate Task<MySqlConnection> Opener(CancellationToken ct);

    /// <summary>The days rows of the table fall on within the window that are no trading days (weekends, holidays):
    /// usually none. A row on one is no expected row, so the counts leave those days out.</summary>
    public static async Task<IReadOnlyList<DateOnly>> OffCalendarDaysAsync(MySqlConnection connection, CoverageShape shape, CoverageWindow window, TradingDays days, CancellationToken ct)
    {
        var found = await connection.QueryAsync<DateTime>(new CommandDefinition(
            $"SELECT DISTINCT {shape.DayExpression} FROM {ColumnNames.Quote(shape.Name)} WHERE {InWindow(shape)}",
            WindowArguments(window), commandTimeout: 0, cancellationToken: ct));
        return found.Select(DateOnly.FromDateTime).Where(d => !days.Contains(d)).Order().ToList();
    }

    /// <summary>
    /// Every key (with the filters) and its first date, last date and distinct trading days stored in the window. Keys
    /// are grouped by the columns the natural key's index starts with (<see cref="CoverageShape.Leading"/>), which reads
    /// the index in order; the other key columns (period, adjust) are taken from each group when they have one value
    /// there, as they mostly do, and only the groups that mix several are grouped again by the whole key.
    /// </summary>
    public static async Task<List<KeyFigures>> KeysAsync(
        Opener open, MySqlConnection connection, CoverageShape shape, IReadOnlyList<ColumnFilter> filters, CoverageWindow window, IReadOnlyList<DateOnly> offDays, CancellationToken ct)
    {
        var leading = shape.Leading;
        var rest = shape.KeyColumns.Where(c => !leading.Contains(c)).ToList();
        if (leading.Count == 0 || rest.Count == 0) return await GroupedAsync(open, connection, shape, shape.KeyColumns, [], filters, null, window, offDays, ct);
        var result = new List<KeyFigures>();
        var mixed = new List<object?[]>();
        foreach (var group in await GroupedAsync(open, connection, shape, leading, rest, filters, null, window, offDays, ct))
        {
            if (group.Values.Length == shape.KeyColumns.Count) result.Add(group);
            else mixed.Add(group.Values);
        }

        foreach (var chunk in mixed.Chunk(KeysPerDateQuery))
        {
            result.AddRange(await GroupedAsync(open, connection, shape, shape.KeyColumns, [], filters, (leading, chunk), window, offDays, ct));
        }

        return result;
    }

    /// <summary>
    /// One grouped reading by <paramref name="groupBy"/>. For each of <paramref name="spread"/> its smallest and largest
    /// value and its nulls are read too: a group where each has one value is a whole key (its values in key order);
    /// any other comes back with the grouped columns' values alone. <paramref name="only"/> limits it to some groups.
    /// A summary reads every row once, and each aggregate on a row costs about as much as reading it (MariaDB 10.11:
    /// 0.77 s of CPU for 1,000,000 rows with the window's test in every row, 0.27 s for a bare COUNT(*)), so the pass
    /// over all rows computes only what needs every row: the rows and the spread. The first and last dates come from a
    /// query of their own, which over an index that starts with <paramref name="groupBy"/> and then the date reads two
    /// entries a group (a loose index scan); with at most one row a day, the rows off the window (before it, after it,
    /// on days that are no trading days, without a date) are counted by a third query through the date's index and
    /// taken off, instead of testing the window in every row.
    /// </summary>
    private static async Task<List<KeyFigures>> GroupedAsync(Opener open, MySqlConnection connection, CoverageShape shape, IReadOnlyList<TableColumn> groupBy, IReadOnlyList<TableColumn> spread,
        IReadOnlyList<ColumnFilter> filters, (IReadOnlyList<TableColumn> Columns, object?[][] Values)? only, CoverageWindow window, IReadOnlyList<DateOnly> offDays, CancellationToken ct)
    {
        var date = ColumnNames.Quote(shape.DateColumn.Name);
        var keys = string.Join(", ", groupBy.Select(c => ColumnNames.Quote(c.Name)));
        var g = groupBy.Count;
        var spanApart = g == 0 || groupBy.Select(c => c.Name).SequenceEqual(shape.Leading.Select(c => c.Name));
        var reading = new GroupReading(shape, groupBy, spread, filters, only, window, offDays, spanApart);

        var spans = new List<(string Json, object?[] Values, DateTime First, DateTime Last)>();
        if (spanApart)
        {
            var spanArgs = new DynamicParameters();
            await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
                $"SELECT {string.Join(", ", groupBy.Select(c => ColumnNames.Quote(c.Name)).Concat([$"MIN({date})", $"MAX({date})"]))} FROM {ColumnNames.Quote(shape.Name)}{Where(filters, only, spanArgs)}{GroupBy(keys)}{(keys.Length > 0 ? " ORDER BY " + keys : "")}",
                spanArgs, commandTimeout: 0, cancellationToken: ct));
            while (await reader.ReadAsync(ct))
            {
                if (reader.IsDBNull(g)) continue;
                var values = Values(reader, groupBy);
                spans.Add((GroupJson(groupBy, values), values, reader.GetDateTime(g), reader.GetDateTime(g + 1)));
            }
        }

        // The pass over every row in pieces of the first grouped column's range, each on a connection of its own: the
        // server reads them at once, on as many cores as it has. The span's groups come in the database's order (ORDER
        // BY the index's columns, which costs nothing over reading the index), which gives the bounds without sorting
        // in the database's collation here.
        var bounds = new List<object?>();
        if (spanApart && g > 0 && spans.Count >= 2 * GroupsPerPiece)
        {
            var pieces = Math.Min(MaxPieces, spans.Count / GroupsPerPiece);
            for (var p = 1; p < pieces; p++)
            {
                var bound = spans[p * spans.Count / pieces].Values[0];
                if (bound is not null && (bounds.Count == 0 || !Equals(bounds[^1], bound))) bounds.Add(bound);
            }
        }

        var ranges = Enumerable.Range(0, bounds.Count + 1).Select(p => (Low: p == 0 ? null : bounds[p - 1], High: p == bounds.Count ? null : bounds[p])).ToList();
        var parts = await Task.WhenAll(ranges.Select(async (range, p) =>
        {
            if (p == 0) return await reading.PieceAsync(connection, range.Low, range.High, ct);
            await using var own = await open(ct);
            return await reading.PieceAsync(own, range.Low, range.High, ct);
        }));
        var main = new Dictionary<string, Group>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            foreach (var (json, group) in part) main[json] = group;
        }

        foreach (var span in spans)
        {
            if (main.TryGetValue(span.Json, out var group)) (group.First, group.Last) = (span.First, span.Last);
        }

        var s = spread.Count;
        var result = new List<KeyFigures>();
        foreach (var group in main.Values)
        {
            if (group.First is not { } first || group.Last is not { } last) continue;
            if (!group.Whole)
            {
                result.Add(new KeyFigures(group.Values, "", default, default, 0));
                continue;
            }

            var named = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < g; i++) named[groupBy[i].Name] = group.Values[i];
            for (var j = 0; j < s; j++) named[spread[j].Name] = group.Spread[j];
            var keyValues = shape.KeyColumns.Select(c => named[c.Name]).ToArray();
            var figures = new KeyFigures(keyValues, KeyJson(shape, keyValues), DateOnly.FromDateTime(first), DateOnly.FromDateTime(last), (int)Math.Max(0, group.Days));
            figures.Unit = shape.UnitOf(keyValues);
            result.Add(figures);
        }

        return result;
    }

    /// <summary>A group of one grouped reading: its values, its spread columns' one value each (when <see cref="Whole"/>),
    /// its first and last date, and its stored days in the window.</summary>
    internal sealed class Group(object?[] values, object?[] spread, bool whole)
    {
        public object?[] Values { get; } = values;
        public object?[] Spread { get; } = spread;
        public bool Whole { get; } = whole;
        public DateTime? First { get; set; }
        public DateTime? Last { get; set; }
        public long Days { get; set; }
    }

    internal static string Where(IReadOnlyList<ColumnFilter> filters, (IReadOnlyList<TableColumn> Columns, object?[][] Values)? only, DynamicParameters args)
    {
        var conditions = ManagedTables.Conditions(filters, args);
        if (only is { } chosen) conditions.Add(OneOf(chosen.Columns, chosen.Values, args));
        return conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "";
    }

    internal static string GroupBy(string keys) => keys.Length > 0 ? " GROUP BY " + keys : "";

    internal static object?[] Values(System.Data.Common.DbDataReader reader, IReadOnlyList<TableColumn> columns)
    {
        var values = new object?[columns.Count];
        for (var i = 0; i < columns.Count; i++) values[i] = KeyValue(reader, i, columns[i].Type);
        return values;
    }

    /// <summary>A group's values as one text, to find the same group in the answers of several queries.</summary>
    internal static string GroupJson(IReadOnlyList<TableColumn> columns, object?[] values) =>
        Warehouse.ConfirmedEmptyDays.KeyJson(columns.Select((c, i) => KeyValuePair.Create(c.Name, values[i])).ToList());

    /// <summary>Rows whose <paramref name="columns"/> hold one of <paramref name="values"/> (null-safe: a null key value is a value).</summary>
    private static string OneOf(IReadOnlyList<TableColumn> columns, IEnumerable<object?[]> values, DynamicParameters args)
    {
        var alternatives = values.Select((key, k) => "(" + string.Join(" AND ", columns.Select((column, i) =>
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"k{k}_{i}");
            args.Add(name, key[i]);
            return $"{ColumnNames.Quote(column.Name)} <=> @{name}";
        })) + ")");
        return "(" + string.Join(" OR ", alternatives) + ")";
    }

    /// <summary>
    /// For the keys of one unit (weekly or monthly bars, by their period value): the trading weeks or months stored in
    /// the window, replacing their day counts. Rows on days whose week or month has no trading day at all are left out.
    /// </summary>
    public static async Task CountUnitsAsync(MySqlConnection connection, CoverageShape shape, IReadOnlyList<ColumnFilter> filters, CoverageWindow window,
        CalendarUnit unit, IReadOnlyList<DateOnly> offUnitDays, IReadOnlyDictionary<string, KeyFigures> byJson, CancellationToken ct)
    {
        var args = WindowArguments(window);
        var conditions = ManagedTables.Conditions(filters, args);
        conditions.Add(InWindow(shape) + NotOn(shape, offUnitDays, args, "offunit"));
        conditions.Add($"{ColumnNames.Quote(shape.PeriodColumn!.Name)} IN @periods");
        args.Add("periods", CoverageShape.PeriodValues(unit));
        var day = shape.DayExpression;
        var unitExpression = unit == CalendarUnit.Week ? $"YEARWEEK({day}, 3)" : $"EXTRACT(YEAR_MONTH FROM {day})";
        var keys = string.Join(", ", shape.KeyColumns.Select(c => ColumnNames.Quote(c.Name)));
        var sql = $"SELECT {keys}, COUNT(DISTINCT {unitExpression}) FROM {ColumnNames.Quote(shape.Name)} WHERE {string.Join(" AND ", conditions)} GROUP BY {keys}";
        var n = shape.KeyColumns.Count;
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, args, commandTimeout: 0, cancellationToken: ct));
        while (await reader.ReadAsync(ct))
        {
            var values = new object?[n];
            for (var i = 0; i < n; i++) values[i] = KeyValue(reader, i, shape.KeyColumns[i].Type);
            if (byJson.TryGetValue(KeyJson(shape, values), out var figures) && figures.Unit == unit) figures.Stored = reader.GetInt32(n);
        }
    }

    /// <summary>Reads the stored days in the window of <paramref name="keys"/> into their <see cref="KeyFigures.Dates"/>.</summary>
    public static async Task ReadDatesAsync(MySqlConnection connection, CoverageShape shape, IReadOnlyList<KeyFigures> keys, CoverageWindow window, CancellationToken ct)
    {
        var pending = keys.Where(k => k.Dates is null).ToList();
        foreach (var key in pending) key.Dates = [];
        var n = shape.KeyColumns.Count;
        foreach (var chunk in pending.Chunk(KeysPerDateQuery))
        {
            var args = WindowArguments(window);
            var byJson = chunk.ToDictionary(k => k.Json, StringComparer.Ordinal);
            var sql = new StringBuilder("SELECT ");
            foreach (var column in shape.KeyColumns) sql.Append(ColumnNames.Quote(column.Name)).Append(", ");
            sql.Append($"{shape.DayExpression} FROM {ColumnNames.Quote(shape.Name)} WHERE {InWindow(shape)}");
            // <=>: a key whose value is null (a column added after its rows were stored) is still one key.
            if (n > 0) sql.Append(" AND ").Append(OneOf(shape.KeyColumns, chunk.Select(k => k.Values), args));

            await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql.ToString(), args, commandTimeout: 0, cancellationToken: ct));
            while (await reader.ReadAsync(ct))
            {
                var values = new object?[n];
                for (var i = 0; i < n; i++) values[i] = KeyValue(reader, i, shape.KeyColumns[i].Type);
                if (byJson.TryGetValue(KeyJson(shape, values), out var key)) key.Dates!.Add(DateOnly.FromDateTime(reader.GetDateTime(n)));
            }
        }

        foreach (var key in pending)
        {
            key.Dates!.Sort();
            key.Dates = key.Dates.Distinct().ToList();
        }
    }

    /// <summary>The key as confirmed_empty_days names it: AKShare's column names, in key order.</summary>
    public static string KeyJson(CoverageShape shape, object?[] values) =>
        Warehouse.ConfirmedEmptyDays.KeyJson(shape.KeyColumns.Select((c, i) => KeyValuePair.Create(c.OriginalName, values[i])).ToList());

    internal static string InWindow(CoverageShape shape)
    {
        var date = ColumnNames.Quote(shape.DateColumn.Name);
        return $"{date} >= @from AND {date} < @after";
    }

    internal static string NotOn(CoverageShape shape, IReadOnlyList<DateOnly> days, DynamicParameters args, string name)
    {
        if (days.Count == 0) return "";
        args.Add(name, days.Select(d => d.ToDateTime(TimeOnly.MinValue)).ToList());
        return $" AND {shape.DayExpression} NOT IN @{name}";
    }

    internal static DynamicParameters WindowArguments(CoverageWindow window)
    {
        var args = new DynamicParameters();
        args.Add("from", window.Lower.ToDateTime(TimeOnly.MinValue));
        args.Add("after", window.End.AddDays(1).ToDateTime(TimeOnly.MinValue));
        return args;
    }

    /// <summary>A key column's value as coverage shows and compares it: dates and times as text, big numbers as text.</summary>
    internal static object? KeyValue(System.Data.Common.DbDataReader reader, int ordinal, string type)
    {
        if (reader.IsDBNull(ordinal)) return null;
        return reader.GetValue(ordinal) switch
        {
            DateTime d when type == "DATE" => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            DateTime d => d.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            MySqlDecimal m => m.ToString(),
            var value => value,
        };
    }
}
