using System.Globalization;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// The pass over every row of one grouped reading (<see cref="CoverageFigures"/>), for one range of the first grouped
/// column: per group its rows, for each spread column its non-null count, smallest and largest value, and its stored
/// days in the window. With at most one row a day those are its rows less the ones off the window, counted by a query
/// of their own through the date's index; otherwise its distinct days in the window, counted in the pass. Without
/// <c>spanApart</c> the pass also reads each group's first and last date.
/// </summary>
internal sealed class GroupReading(
    CoverageShape shape, IReadOnlyList<TableColumn> groupBy, IReadOnlyList<TableColumn> spread, IReadOnlyList<ColumnFilter> filters,
    (IReadOnlyList<TableColumn> Columns, object?[][] Values)? only, CoverageWindow window, IReadOnlyList<DateOnly> offDays, bool spanApart)
{
    /// <summary>The groups whose first grouped column is from <paramref name="low"/> (null: from the start, nulls
    /// included) up to <paramref name="high"/> (excluded; null: to the end), by their values' JSON.</summary>
    public async Task<Dictionary<string, CoverageFigures.Group>> PieceAsync(MySqlConnection connection, object? low, object? high, CancellationToken ct)
    {
        var date = ColumnNames.Quote(shape.DateColumn.Name);
        var keys = string.Join(", ", groupBy.Select(c => ColumnNames.Quote(c.Name)));
        var (g, s) = (groupBy.Count, spread.Count);
        var table = ColumnNames.Quote(shape.Name);

        var mainArgs = shape.OneRowPerDay ? new DynamicParameters() : CoverageFigures.WindowArguments(window);
        var select = groupBy.Select(c => ColumnNames.Quote(c.Name))
            .Concat(spread.SelectMany(c => new[] { $"COUNT({ColumnNames.Quote(c.Name)})", $"MIN({ColumnNames.Quote(c.Name)})", $"MAX({ColumnNames.Quote(c.Name)})" }))
            .Append("COUNT(*)")
            .Concat(spanApart ? Array.Empty<string>() : new[] { $"MIN({date})", $"MAX({date})" })
            .Concat(shape.OneRowPerDay
                ? Array.Empty<string>()
                : new[] { $"COUNT(DISTINCT CASE WHEN {CoverageFigures.InWindow(shape) + CoverageFigures.NotOn(shape, offDays, mainArgs, "off")} THEN {shape.DayExpression} END)" });
        var main = new Dictionary<string, CoverageFigures.Group>(StringComparer.Ordinal);
        await using (var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
            $"SELECT {string.Join(", ", select)} FROM {table}{Where(mainArgs, low, high)}{CoverageFigures.GroupBy(keys)}", mainArgs, commandTimeout: 0, cancellationToken: ct)))
        {
            while (await reader.ReadAsync(ct))
            {
                var values = CoverageFigures.Values(reader, groupBy);
                var at = g + 3 * s;
                var rows = reader.GetInt64(at);
                var spreadValues = new object?[s];
                var whole = true;
                for (var j = 0; j < s; j++)
                {
                    var nulls = rows - Convert.ToInt64(reader.GetValue(g + 3 * j), CultureInfo.InvariantCulture);
                    var (least, most) = (CoverageFigures.KeyValue(reader, g + 3 * j + 1, spread[j].Type), CoverageFigures.KeyValue(reader, g + 3 * j + 2, spread[j].Type));
                    whole &= nulls == rows || (nulls == 0 && Equals(least, most));
                    spreadValues[j] = nulls == rows ? null : least;
                }

                var next = at + 1;
                var group = new CoverageFigures.Group(values, spreadValues, whole) { Days = rows };
                if (!spanApart)
                {
                    group.First = reader.IsDBNull(next) ? null : reader.GetDateTime(next);
                    group.Last = reader.IsDBNull(next + 1) ? null : reader.GetDateTime(next + 1);
                    next += 2;
                }

                if (!shape.OneRowPerDay) group.Days = Convert.ToInt64(reader.GetValue(next), CultureInfo.InvariantCulture);
                main[CoverageFigures.GroupJson(groupBy, values)] = group;
            }
        }

        if (!shape.OneRowPerDay) return main;

        // Taken off the rows: those without a date, before or after the window, or on a day that is no trading day.
        var outArgs = CoverageFigures.WindowArguments(window);
        var outside = $"({date} IS NULL OR {date} < @from OR {date} >= @after" + (offDays.Count > 0 ? $" OR {date} IN @off)" : ")");
        if (offDays.Count > 0) outArgs.Add("off", offDays.Select(d => d.ToDateTime(TimeOnly.MinValue)).ToList());
        var where = Where(outArgs, low, high);
        where = where.Length == 0 ? " WHERE " + outside : where + " AND " + outside;
        await using (var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
            $"SELECT {string.Join(", ", groupBy.Select(c => ColumnNames.Quote(c.Name)).Append("COUNT(*)"))} FROM {table}{where}{CoverageFigures.GroupBy(keys)}",
            outArgs, commandTimeout: 0, cancellationToken: ct)))
        {
            while (await reader.ReadAsync(ct))
            {
                if (main.TryGetValue(CoverageFigures.GroupJson(groupBy, CoverageFigures.Values(reader, groupBy)), out var group)) group.Days -= reader.GetInt64(g);
            }
        }

        return main;
    }

    /// <summary>The reading's filters and chosen groups, and the piece's range of the first grouped column.</summary>
    private string Where(DynamicParameters args, object? low, object? high)
    {
        var where = CoverageFigures.Where(filters, only, args);
        if (low is null && high is null) return where;
        var column = ColumnNames.Quote(groupBy[0].Name);
        if (low is not null) args.Add("piece_low", low);
        if (high is not null) args.Add("piece_high", high);
        var range = (low, high) switch
        {
            (null, _) => $"({column} IS NULL OR {column} < @piece_high)",
            (_, null) => $"{column} >= @piece_low",
            _ => $"{column} >= @piece_low AND {column} < @piece_high",
        };
        return where.Length == 0 ? " WHERE " + range : where + " AND " + range;
    }
}
