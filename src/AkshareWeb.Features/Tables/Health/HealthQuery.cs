using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// What a check looks at: the whole table, a range of days (<see cref="From"/>, <see cref="To"/>, each optional), or
/// some keys from a day on each (<see cref="Keys"/>: the rows a run touched).
/// </summary>
public sealed record HealthScope(DateOnly? From, DateOnly? To, IReadOnlyList<TouchedKey>? Keys)
{
    public static readonly HealthScope Whole = new(null, null, null);

    public bool IsWhole => From is null && To is null && Keys is null;
}

/// <summary>A key a run wrote rows of (its values as findings name them), and the earliest day it wrote.</summary>
public sealed record TouchedKey(object?[] Values, string Json, DateTime From);

/// <summary>
/// The SQL of the health checks: one pass over the rows in scope, in the database, returning only the rows that may
/// break a rule (<see cref="HealthRules"/> says which they break). The close before each row is its key's previous
/// row's, by LAG over the key in date order; when the scope starts after a key's first row, the row before the
/// scope is looked up through the key's index, once per key. Days off the calendar are weekends or the holidays
/// of the calendar's span, given as a list. Identifiers come from information_schema; values are parameters.
/// </summary>
public static class HealthQuery
{
    private const string Day = "health_day";
    private const string Before = "health_before";

    /// <summary>The rows of <paramref name="scope"/> that may break a rule.</summary>
    public static async IAsyncEnumerable<HealthCandidate> CandidatesAsync(MySqlConnection connection, HealthShape shape, HealthScope scope, TradingDays days,
        DateOnly today, double moveLimit, [EnumeratorCancellation] CancellationToken ct)
    {
        var (sql, args) = Build(shape, scope, days, today, moveLimit);
        var n = shape.Coverage.KeyColumns.Count;
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, args, commandTimeout: 0, cancellationToken: ct));
        while (await reader.ReadAsync(ct))
        {
            var key = new object?[n];
            for (var i = 0; i < n; i++) key[i] = KeyValue(reader, i, shape.Coverage.KeyColumns[i].Type);
            double? Number(int ordinal) => reader.IsDBNull(ordinal) ? null : Convert.ToDouble(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
            yield return new HealthCandidate(key, reader.GetDateTime(n), Number(n + 1), Number(n + 2), Number(n + 3), Number(n + 4), Number(n + 5), Number(n + 6));
        }
    }

    /// <summary>The keys whose rows <paramref name="executionId"/> wrote, with the earliest day of each (one pass over the table).</summary>
    public static async Task<List<TouchedKey>> TouchedAsync(MySqlConnection connection, CoverageShape shape, string executionId, CancellationToken ct)
    {
        var keys = string.Join(", ", shape.KeyColumns.Select(c => ColumnNames.Quote(c.Name)));
        var date = ColumnNames.Quote(shape.DateColumn.Name);
        var sql = keys.Length == 0
            ? $"SELECT MIN({date}) FROM {ColumnNames.Quote(shape.Name)} WHERE {ColumnNames.Quote(BookkeepingColumns.ExecutionId)} = @executionId HAVING COUNT(*) > 0"
            : $"SELECT {keys}, MIN({date}) FROM {ColumnNames.Quote(shape.Name)} WHERE {ColumnNames.Quote(BookkeepingColumns.ExecutionId)} = @executionId GROUP BY {keys}";
        var n = shape.KeyColumns.Count;
        var result = new List<TouchedKey>();
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, new { executionId }, commandTimeout: 0, cancellationToken: ct));
        while (await reader.ReadAsync(ct))
        {
            var values = new object?[n];
            for (var i = 0; i < n; i++) values[i] = KeyValue(reader, i, shape.KeyColumns[i].Type);
            result.Add(new TouchedKey(values, CoverageFigures.KeyJson(shape, values), reader.GetDateTime(n)));
        }

        return result;
    }

    internal static (string Sql, DynamicParameters Args) Build(HealthShape shape, HealthScope scope, TradingDays days, DateOnly today, double moveLimit)
    {
        var coverage = shape.Coverage;
        var bars = shape.Bars;
        var table = ColumnNames.Quote(coverage.Name);
        var date = ColumnNames.Quote(coverage.DateColumn.Name);
        var keys = coverage.KeyColumns.Select(c => ColumnNames.Quote(c.Name)).ToList();
        var args = new DynamicParameters();
        args.Add("moveLimit", moveLimit);
        args.Add("tomorrow", today.AddDays(1).ToDateTime(TimeOnly.MinValue));

        var inner = new StringBuilder("SELECT ");
        foreach (var key in keys) inner.Append(key).Append(", ");
        inner.Append(date).Append(" AS ").Append(Day);
        foreach (var (alias, column) in Columns(bars)) inner.Append(", ").Append(column is null ? "NULL" : Value(column)).Append(" AS ").Append(alias);
        var partition = keys.Count == 0 ? "" : $"PARTITION BY {string.Join(", ", keys)} ";
        inner.Append(", ").Append(bars.Close is null ? "NULL" : $"LAG({Value(bars.Close)}) OVER ({partition}ORDER BY {date})").Append(" AS health_lag");
        inner.Append(" FROM ").Append(table);
        var (where, bounded) = Scope(coverage, scope, args);
        if (where.Length > 0) inner.Append(" WHERE ").Append(where);

        // A key's first row in a scope that starts after the key's first row has its close before looked up, through the key's index.
        var before = "r.health_lag";
        if (bounded && bars.Close is not null)
        {
            var same = string.Join("", keys.Select(k => $"p.{k} <=> r.{k} AND "));
            before = $"COALESCE(r.health_lag, (SELECT {Value(bars.Close, "p.")} FROM {table} p WHERE {same}p.{date} < r.{Day} ORDER BY p.{date} DESC LIMIT 1))";
        }

        var outer = new StringBuilder("SELECT ");
        foreach (var key in keys) outer.Append("r.").Append(key).Append(", ");
        outer.Append("r.").Append(Day).Append(", r.health_open, r.health_high, r.health_low, r.health_close, r.health_volume, ").Append(before).Append(" AS ").Append(Before);
        outer.Append(" FROM (").Append(inner).Append(") r HAVING ").Append(string.Join(" OR ", Conditions(shape, days, args)));
        return (outer.ToString(), args);
    }

    private static IEnumerable<(string Alias, TableColumn? Column)> Columns(BarColumns bars) =>
        [("health_open", bars.Open), ("health_high", bars.High), ("health_low", bars.Low), ("health_close", bars.Close), ("health_volume", bars.Volume)];

    /// <summary>The conditions of a row that may break a rule; HAVING reads the select's names (<see cref="Before"/>).</summary>
    private static List<string> Conditions(HealthShape shape, TradingDays days, DynamicParameters args)
    {
        var bars = shape.Bars;
        var conditions = new List<string>();
        foreach (var (alias, column) in Columns(bars).Take(4))
        {
            if (column is not null) conditions.Add($"{alias} IS NULL OR {alias} <= 0");
        }

        if (bars.High is not null && bars.Low is not null)
        {
            conditions.Add("health_high < health_low");
            if (bars.Open is not null) conditions.Add("health_open < health_low OR health_open > health_high");
            if (bars.Close is not null) conditions.Add("health_close < health_low OR health_close > health_high");
        }

        if (bars.Close is not null) conditions.Add($"{Before} > 0 AND health_close > 0 AND ABS(health_close / {Before} - 1) > @moveLimit");
        if (bars.Volume is not null) conditions.Add("health_volume = 0");
        conditions.Add($"{Day} >= @tomorrow");
        if (days is { First: { } first, Last: { } last })
        {
            args.Add("calendarFirst", first.ToDateTime(TimeOnly.MinValue));
            args.Add("calendarAfter", last.AddDays(1).ToDateTime(TimeOnly.MinValue));
            var holidays = Holidays(days, first, last);
            var off = $"DAYOFWEEK({Day}) IN (1, 7)";
            if (holidays.Count > 0)
            {
                // Written out: some hundreds of days, each a literal the server compares as a date.
                off += $" OR CAST({Day} AS DATE) IN ({string.Join(", ", holidays.Select(d => "'" + d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "'"))})";
            }

            conditions.Add($"{Day} >= @calendarFirst AND {Day} < @calendarAfter AND ({off})");
        }

        return conditions.Select(c => "(" + c + ")").ToList();
    }

    /// <summary>The weekdays from <paramref name="first"/> to <paramref name="last"/> that are no trading days.</summary>
    public static List<DateOnly> Holidays(TradingDays days, DateOnly first, DateOnly last)
    {
        var result = new List<DateOnly>();
        for (var day = first; day <= last; day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !days.Contains(day)) result.Add(day);
        }

        return result;
    }

    /// <summary>The WHERE of the scope, and whether it starts after some key's first row.</summary>
    private static (string Where, bool Bounded) Scope(CoverageShape shape, HealthScope scope, DynamicParameters args)
    {
        var date = ColumnNames.Quote(shape.DateColumn.Name);
        var conditions = new List<string>();
        if (scope.From is { } from)
        {
            conditions.Add($"{date} >= @scopeFrom");
            args.Add("scopeFrom", from.ToDateTime(TimeOnly.MinValue));
        }

        if (scope.To is { } to)
        {
            conditions.Add($"{date} < @scopeAfter");
            args.Add("scopeAfter", to.AddDays(1).ToDateTime(TimeOnly.MinValue));
        }

        if (scope.Keys is { } touched)
        {
            var alternatives = touched.Select((key, k) =>
            {
                var parts = shape.KeyColumns.Select((column, i) =>
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"t{k}_{i}");
                    args.Add(name, key.Values[i]);
                    return $"{ColumnNames.Quote(column.Name)} <=> @{name}";
                }).ToList();
                var since = string.Create(CultureInfo.InvariantCulture, $"t{k}_from");
                args.Add(since, key.From);
                parts.Add($"{date} >= @{since}");
                return "(" + string.Join(" AND ", parts) + ")";
            }).ToList();
            conditions.Add(alternatives.Count == 0 ? "FALSE" : "(" + string.Join(" OR ", alternatives) + ")");
        }

        return (string.Join(" AND ", conditions), scope.From is not null || scope.Keys is not null);
    }

    /// <summary>A price or volume as a number: a text column's empty, NaN and None are missing.</summary>
    private static string Value(TableColumn column, string prefix = "")
    {
        var quoted = prefix + ColumnNames.Quote(column.Name);
        return HealthShape.IsNumeric(column.Type)
            ? quoted
            : $"CASE WHEN {quoted} IS NULL OR TRIM({quoted}) IN ('', 'NaN', 'nan', 'None') THEN NULL ELSE CAST({quoted} AS DOUBLE) END";
    }

    /// <summary>A key value as the findings name it: dates and times as text, big numbers as text.</summary>
    private static object? KeyValue(System.Data.Common.DbDataReader reader, int ordinal, string type)
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
