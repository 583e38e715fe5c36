using System.Globalization;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Parameters;

/// <summary>
/// Parameter sources from request to parts: checks what can be checked when a task, a download or a script test
/// is asked for (tables and columns that exist, a write mode that parts can share), fixes with the plan what a
/// since_last source needs to know, expands the sources into parts when the run starts, and resolves each part's
/// since_last date from the target table's own rows.
/// </summary>
public sealed class ValueSources(WarehouseTables registry, WarehouseDatabase warehouse, ParameterBinder binder, IOptions<PartsOptions> options)
{
    public int MaxParts => options.Value.MaxParts;

    public int DefaultConcurrency => options.Value.DefaultConcurrency;

    /// <summary>
    /// Binds the values and the sources, then checks the sources against the database (a 422 naming the problem).
    /// With <paramref name="countParts"/> (a request: a task saved, a download, a script test) the parts the
    /// sources would make now, table sources counted with their filters, must be within <see cref="MaxParts"/>;
    /// a run's own start counts again when it reads the tables (<see cref="ExpandAsync"/>).
    /// </summary>
    public async Task<(Dictionary<string, string> Values, IReadOnlyDictionary<string, ValueSource> Sources)> BindAsync(
        IReadOnlyList<ParameterDefinition> definitions, System.Text.Json.JsonElement? supplied, string targetTable, string writeMode,
        IReadOnlyDictionary<string, string> extraColumns, CancellationToken ct, bool refuseUnsafe = true, bool countParts = true)
    {
        var (values, sources) = binder.BindWithSources(definitions, supplied, MaxParts, refuseUnsafe: refuseUnsafe);
        if (sources.Count == 0) return (values, sources);
        if (writeMode == WriteModes.Replace)
        {
            throw ApiError.Validation("parameters", "a data script that replaces its whole table cannot run in parts; give single values");
        }

        foreach (var (name, source) in sources.Where(s => s.Value.FromTable is not null))
        {
            await CheckTableAsync(name, source, ct);
        }

        if (refuseUnsafe && sources.Values.Any(s => s.SinceLast is not null)) await CheckSinceLastAsync(sources, targetTable, ct);
        if (countParts && sources.Values.Any(s => s.FromTable is not null)) await CountPartsAsync(sources, ct);
        var (completed, unmatched) = Complete(sources, definitions, extraColumns, values);
        // A request hears of a key since_last cannot match at once; a stored task's run keeps it in the plan, and its
        // parts fail with the reason (a 422 here would leave a scheduled run without a trace).
        if (refuseUnsafe && unmatched.Count > 0) throw new ApiError(422, ErrorCodes.ValidationFailed, "invalid parameters", unmatched);
        return (values, completed);
    }

    /// <summary>A 422 when the sources would make more than <see cref="MaxParts"/> parts with the tables as they are now.</summary>
    private async Task CountPartsAsync(IReadOnlyDictionary<string, ValueSource> sources, CancellationToken ct)
    {
        long parts = 1;
        var counted = new List<string>();
        foreach (var (name, source) in sources.Where(s => s.Value.MakesParts))
        {
            long count = source.Values?.Count ?? await CountDistinctAsync(source, ct);
            parts *= count;
            counted.Add(source.Values is null ? $"parameters.{name}: {count} values in {source.FromTable} now" : $"parameters.{name}: {count} values");
            if (parts > MaxParts)
            {
                break;
            }
        }

        if (parts > MaxParts)
        {
            throw ApiError.Validation("parameters", $"the sources make {parts} parts ({string.Join(" x ", counted)}); at most {MaxParts} are allowed");
        }
    }

    /// <summary>
    /// A since_last column the target table lacks would fail every part at run time ("20 of 20 parts failed"): a 422
    /// naming the table's date columns. A table not created yet is no mistake: its first run asks from the default.
    /// </summary>
    private async Task CheckSinceLastAsync(IReadOnlyDictionary<string, ValueSource> sources, string targetTable, CancellationToken ct)
    {
        var columns = await ColumnTypesAsync(targetTable, ct);
        if (columns.Count == 0) return;
        foreach (var (name, source) in sources.Where(s => s.Value.SinceLast is not null && !columns.ContainsKey(s.Value.SinceLast)))
        {
            var dated = columns.Where(c => c.Value is "DATE" or "DATETIME" or "TIMESTAMP" || c.Value.StartsWith("DATETIME(", StringComparison.Ordinal)
                || c.Value.StartsWith("TIMESTAMP(", StringComparison.Ordinal)).Select(c => c.Key).Where(c => !c.StartsWith('_')).ToList();
            throw ApiError.Validation($"parameters.{name}.since_last", $"no column {source.SinceLast} in {targetTable}" +
                (dated.Count > 0 ? $"; its date columns: {string.Join(", ", dated)}" : "; it has no DATE or DATETIME column"));
        }
    }

    private async Task CheckTableAsync(string name, ValueSource source, CancellationToken ct)
    {
        var field = $"parameters.{name}";
        var table = source.FromTable!;
        if (!await registry.IsRegisteredAsync(table, ct)) throw ApiError.Validation($"{field}.from_table", $"no managed table {table}; see GET /api/tables/");

        var columns = await ColumnTypesAsync(table, ct);
        if (columns.Count == 0) throw ApiError.Validation($"{field}.from_table", $"no managed table {table}; see GET /api/tables/");
        if (!columns.ContainsKey(source.Column!))
        {
            throw ApiError.Validation($"{field}.column", $"no column {source.Column} in {table}");
        }

        foreach (var (column, op, value) in source.Conditions())
        {
            if (!columns.TryGetValue(column, out var type)) throw ApiError.Validation($"{field}.filter.{column}", $"no column {column} in {table}");
            if (FilterOperators.Canonical(type, op, value) is null) throw ApiError.Validation($"{field}.filter.{column}", $"{op}: {value} is not a value of {type}: {FilterOperators.Expecting(type)}");
        }
    }

    private async Task<HashSet<string>> ColumnsAsync(string table, CancellationToken ct) =>
        (await ColumnTypesAsync(table, ct)).Keys.ToHashSet(StringComparer.Ordinal);

    /// <summary>The table's columns and their types (COLUMN_TYPE in capitals, as the data page's filters know them).</summary>
    private async Task<Dictionary<string, string>> ColumnTypesAsync(string table, CancellationToken ct)
    {
        await using var connection = await warehouse.OpenAsync(ct);
        return (await connection.QueryAsync<(string Name, string Type)>(new CommandDefinition(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
            new { table }, cancellationToken: ct))).ToDictionary(c => c.Name, c => c.Type.ToUpperInvariant(), StringComparer.Ordinal);
    }

    /// <summary>
    /// A since_last source gets the date's format and default, and every key parameter (<see cref="IsKey"/>) with the
    /// column holding its value in the stored rows: the parameter's own <c>column</c>, or a constant column that copies
    /// it ("{period}"). A key with no such column, or with a <c>column</c> but no value to look for, cannot tell this
    /// part's rows from another value's: it is listed in Keys without a Match, and returned as a problem.
    /// </summary>
    public static (IReadOnlyDictionary<string, ValueSource> Sources, List<FieldError> Unmatched) Complete(
        IReadOnlyDictionary<string, ValueSource> sources, IReadOnlyList<ParameterDefinition> definitions,
        IReadOnlyDictionary<string, string> extraColumns, IReadOnlyDictionary<string, string> values)
    {
        var unmatched = new List<FieldError>();
        var completed = sources.ToDictionary(s => s.Key, s =>
        {
            if (s.Value.SinceLast is null) return s.Value;
            var definition = definitions.First(d => d.Name == s.Key);
            var keys = new List<string>();
            var match = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var key in definitions.Where(d => IsKey(d) && sources.GetValueOrDefault(d.Name)?.SinceLast is null))
            {
                keys.Add(key.Name);
                var copy = extraColumns.FirstOrDefault(e => e.Value == "{" + key.Name + "}").Key;
                if (key.Column is null && copy is null)
                {
                    unmatched.Add(new FieldError($"parameters.{key.Name}",
                        $"since_last on {s.Key} reads each part's own last stored date, matched on every key parameter, and no column is known to hold " +
                        $"{key.Name} (a data script's \"column\" or a constant column \"{{{key.Name}}}\"): the date would be another {key.Name}'s; give {s.Key} a date"));
                }
                else if (copy is null && !values.ContainsKey(key.Name) && !sources.ContainsKey(key.Name))
                {
                    unmatched.Add(new FieldError($"parameters.{key.Name}",
                        $"since_last on {s.Key} matches each part's stored rows on {key.Name} (column {key.Column}): give {key.Name} a value"));
                }
                else
                {
                    match[key.Name] = key.Column ?? copy!;
                }
            }

            return s.Value with { Format = definition.Format ?? "yyyyMMdd", Default = definition.DefaultValue, Match = match, Keys = keys };
        }, StringComparer.Ordinal);
        return (completed, unmatched);
    }

    /// <summary>
    /// A parameter whose value changes what a row means: role "key", or no role (the default) unless it is a date. A
    /// catalogue's parameters carry no roles, and their dates are taken as ranges, as the scripts' own date windows are.
    /// </summary>
    public static bool IsKey(ParameterDefinition definition) => definition.Role == "key" || (definition.Role is null && definition.Type != "date");

    /// <summary>A script's constant columns for a plan: a "{param}" of a sourced parameter stays, filled by each part.</summary>
    public static IReadOnlyDictionary<string, string> ExtraColumns(
        ParameterBinder binder, IReadOnlyDictionary<string, string> extra, IReadOnlyDictionary<string, string> values, IReadOnlyDictionary<string, ValueSource> sourced)
    {
        var withPlaceholders = new Dictionary<string, string>(values, StringComparer.Ordinal);
        foreach (var name in sourced.Keys) withPlaceholders[name] = "{" + name + "}";
        return binder.ResolveExtraColumns(extra, withPlaceholders);
    }

    /// <summary>The parts' varying values: the cross product of the lists, tables and given parts, in the parameters' order.</summary>
    public async Task<List<Dictionary<string, string>>> ExpandAsync(IReadOnlyDictionary<string, ValueSource> sources, CancellationToken ct)
    {
        var parts = new List<Dictionary<string, string>> { new(StringComparer.Ordinal) };
        foreach (var (name, source) in sources.Where(s => s.Value.MakesParts))
        {
            if (source.Parts is { } given)
            {
                if ((long)parts.Count * given.Count > MaxParts)
                {
                    throw new TooManyPartsException($"the parts given make {(long)parts.Count * given.Count} parts; at most {MaxParts} are allowed (Parts:MaxParts)");
                }

                parts = [.. parts.SelectMany(p => given.Select(g => new Dictionary<string, string>(p.Concat(g), StringComparer.Ordinal)))];
                continue;
            }

            var values = source.Values ?? await ReadColumnAsync(source, ct);
            if ((long)parts.Count * values.Count > MaxParts)
            {
                var origin = source.FromTable is null ? $"{values.Count} values" : $"{values.Count} values in {source.FromTable} now";
                throw new TooManyPartsException(
                    $"the parameter sources make {(long)parts.Count * values.Count} parts (parameters.{name}: {origin}); at most {MaxParts} are allowed (Parts:MaxParts)");
            }

            parts = [.. parts.SelectMany(p => values.Select(v => new Dictionary<string, string>(p, StringComparer.Ordinal) { [name] = v }))];
        }

        return parts;
    }

    private async Task<IReadOnlyList<string>> ReadColumnAsync(ValueSource source, CancellationToken ct)
    {
        var (from, args) = await DistinctSqlAsync(source, ct);
        await using var connection = await warehouse.OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            $"SELECT DISTINCT CAST({ColumnNames.Quote(source.Column!)} AS CHAR) {from} ORDER BY 1", args, cancellationToken: ct))).ToList();
    }

    private async Task<long> CountDistinctAsync(ValueSource source, CancellationToken ct)
    {
        var (from, args) = await DistinctSqlAsync(source, ct);
        await using var connection = await warehouse.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT COUNT(DISTINCT CAST({ColumnNames.Quote(source.Column!)} AS CHAR)) {from}", args, cancellationToken: ct));
    }

    /// <summary>FROM and WHERE of a table source's values: its column not null and its filter, each condition as the
    /// data page's filter of the same operator makes it (<see cref="FilterOperators"/>).</summary>
    private async Task<(string From, DynamicParameters Args)> DistinctSqlAsync(ValueSource source, CancellationToken ct)
    {
        var columns = await ColumnsAsync(source.FromTable!, ct);
        if (!columns.Contains(source.Column!)) throw new InvalidOperationException($"the table {source.FromTable} has no column {source.Column} (any more)");
        var sql = new StringBuilder($"FROM {ColumnNames.Quote(source.FromTable!)} WHERE {ColumnNames.Quote(source.Column!)} IS NOT NULL");
        var args = new DynamicParameters();
        var i = 0;
        foreach (var (column, op, value) in source.Conditions())
        {
            if (!columns.Contains(column)) throw new InvalidOperationException($"the table {source.FromTable} has no column {column} (any more)");
            var name = "f" + i++.ToString(CultureInfo.InvariantCulture);
            sql.Append(" AND ").Append(FilterOperators.Condition(ColumnNames.Quote(column), op, name));
            args.Add(name, FilterOperators.Argument(op, value));
        }

        return (sql.ToString(), args);
    }

    /// <summary>
    /// The date a since_last part asks from: its last stored date (rows matched on every one of the part's key values)
    /// minus the overlap, in the parameter's format; the script's default when nothing is stored yet (null: AKShare's
    /// own). A key that matches no column fails the part before any call (InvalidOperationException, the part's
    /// reason), never skipped: without it the date would be the last of any other symbol, period or adjust.
    /// </summary>
    public async Task<string?> SinceLastAsync(ValueSource source, string table, IReadOnlyDictionary<string, string> parameters, CancellationToken ct)
    {
        var match = source.Match ?? new Dictionary<string, string>();
        if (source.Keys is null)
        {
            // Planned before the plan listed its keys: the keys it left out are unknown, and were maybe dropped.
            throw new InvalidOperationException(
                $"since_last on {table}: this run was planned by an earlier version that did not record every key parameter a part's last date is " +
                "matched on, so the date could be another symbol's; start a new download or task run instead of retrying this one");
        }

        if (source.Keys.FirstOrDefault(k => !match.ContainsKey(k)) is { } lost)
        {
            throw new InvalidOperationException(
                $"since_last on {table}: no column is known to hold the key parameter {lost}, so this part's own last date cannot be read " +
                $"(it would be another {lost}'s); the part was not fetched. Give the date parameter a date, or name {lost}'s column in the data script");
        }

        var columns = await ColumnsAsync(table, ct);
        string? last = null;
        if (columns.Count > 0 && !columns.Contains(source.SinceLast!)) throw new InvalidOperationException($"since_last: the table {table} has no column {source.SinceLast}");
        // A key column the table does not have (yet) holds none of this part's values: nothing of the part is stored.
        if (columns.Count > 0 && match.Values.All(columns.Contains))
        {
            var sql = new StringBuilder($"SELECT CAST(MAX({ColumnNames.Quote(source.SinceLast!)}) AS CHAR) FROM {ColumnNames.Quote(table)} WHERE 1 = 1");
            var args = new DynamicParameters();
            var i = 0;
            foreach (var (name, column) in match)
            {
                sql.Append(CultureInfo.InvariantCulture, $" AND {ColumnNames.Quote(column)} = @m{i}");
                // A constant column copies an absent value as "" (ParameterBinder.ResolveExtraColumns); a key with a
                // column of its own had a value when the run was planned.
                args.Add($"m{i++}", parameters.GetValueOrDefault(name, ""));
            }

            await using var connection = await warehouse.OpenAsync(ct);
            last = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(sql.ToString(), args, cancellationToken: ct));
        }

        if (last is not null && last.Length >= 8 && (DateOnly.TryParseExact(last[..Math.Min(10, last.Length)], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            || DateOnly.TryParseExact(last[..8], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day)))
        {
            return day.AddDays(-source.OverlapDays).ToString(source.Format ?? "yyyyMMdd", CultureInfo.InvariantCulture);
        }

        return source.Default is null ? null : binder.ResolveDate(source.Default, source.Format, out _) ?? source.Default;
    }
}
