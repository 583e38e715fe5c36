using System.Globalization;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// Parameter sources from request to parts: checks what can be checked when a task, a download or a script test
/// is asked for (tables and columns that exist, a write mode that parts can share), fixes with the plan what a
/// since_last source needs to know, expands the sources into parts when the run starts, and resolves each part's
/// since_last date from the target table's own rows.
/// </summary>
public sealed class PartSources(Database database, WarehouseDatabase warehouse, ParameterBinder binder, IOptions<PartsOptions> options)
{
    public int MaxParts => options.Value.MaxParts;

    public int DefaultConcurrency => options.Value.DefaultConcurrency;

    /// <summary>Binds the values and the sources, then checks the sources against the database (a 422 naming the problem).</summary>
    public async Task<(Dictionary<string, string> Values, IReadOnlyDictionary<string, ParameterSource> Sources)> BindAsync(
        IReadOnlyList<ParameterDefinition> definitions, System.Text.Json.JsonElement? supplied, string writeMode,
        IReadOnlyDictionary<string, string> extraColumns, CancellationToken ct, bool refuseUnsafe = true)
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

        return (values, Complete(sources, definitions, extraColumns));
    }

    private async Task CheckTableAsync(string name, ParameterSource source, CancellationToken ct)
    {
        var field = $"parameters.{name}";
        var table = source.FromTable!;
        await using (var app = await database.OpenAsync(ct))
        {
            var managed = WarehouseWriter.TableNamePattern().IsMatch(table) && await app.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM warehouse_tables WHERE table_name = @table", new { table }, cancellationToken: ct)) > 0;
            if (!managed) throw ApiError.Validation($"{field}.from_table", $"no managed table {table}; see GET /api/tables/");
        }

        var columns = await ColumnsAsync(table, ct);
        if (columns.Count == 0) throw ApiError.Validation($"{field}.from_table", $"no managed table {table}; see GET /api/tables/");
        if (!columns.Contains(source.Column!))
        {
            throw ApiError.Validation($"{field}.column", $"no column {source.Column} in {table}");
        }

        foreach (var filtered in source.Filter?.Keys ?? [])
        {
            if (!columns.Contains(filtered)) throw ApiError.Validation($"{field}.filter.{filtered}", $"no column {filtered} in {table}");
        }
    }

    private async Task<HashSet<string>> ColumnsAsync(string table, CancellationToken ct)
    {
        await using var connection = await warehouse.OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
            new { table }, cancellationToken: ct))).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// A since_last source gets the date's format and default, and the key parameters whose values name a part's
    /// rows in the table: a key parameter with its <c>column</c>, or one a constant column copies ("{period}").
    /// </summary>
    public static IReadOnlyDictionary<string, ParameterSource> Complete(
        IReadOnlyDictionary<string, ParameterSource> sources, IReadOnlyList<ParameterDefinition> definitions, IReadOnlyDictionary<string, string> extraColumns) =>
        sources.ToDictionary(s => s.Key, s =>
        {
            if (s.Value.SinceLast is null) return s.Value;
            var definition = definitions.First(d => d.Name == s.Key);
            var match = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var key in definitions.Where(d => d.Role is null or "key" && d.Type != "date"))
            {
                var column = key.Column ?? extraColumns.FirstOrDefault(e => e.Value == "{" + key.Name + "}").Key;
                if (column is not null) match[key.Name] = column;
            }

            return s.Value with { Format = definition.Format ?? "yyyyMMdd", Default = definition.DefaultValue, Match = match };
        }, StringComparer.Ordinal);

    /// <summary>A script's constant columns for a plan: a "{param}" of a sourced parameter stays, filled by each part.</summary>
    public static IReadOnlyDictionary<string, string> ExtraColumns(
        ParameterBinder binder, IReadOnlyDictionary<string, string> extra, IReadOnlyDictionary<string, string> values, IReadOnlyDictionary<string, ParameterSource> sourced)
    {
        var withPlaceholders = new Dictionary<string, string>(values, StringComparer.Ordinal);
        foreach (var name in sourced.Keys) withPlaceholders[name] = "{" + name + "}";
        return binder.ResolveExtraColumns(extra, withPlaceholders);
    }

    /// <summary>The parts' varying values: the cross product of the lists and tables, in the parameters' order.</summary>
    public async Task<List<Dictionary<string, string>>> ExpandAsync(IReadOnlyDictionary<string, ParameterSource> sources, CancellationToken ct)
    {
        var parts = new List<Dictionary<string, string>> { new(StringComparer.Ordinal) };
        foreach (var (name, source) in sources.Where(s => s.Value.MakesParts))
        {
            var values = source.Values ?? await ReadColumnAsync(source, ct);
            if ((long)parts.Count * values.Count > MaxParts)
            {
                throw new InvalidOperationException($"the parameter sources make {(long)parts.Count * values.Count} parts; at most {MaxParts} are allowed");
            }

            parts = [.. parts.SelectMany(p => values.Select(v => new Dictionary<string, string>(p, StringComparer.Ordinal) { [name] = v }))];
        }

        return parts;
    }

    private async Task<IReadOnlyList<string>> ReadColumnAsync(ParameterSource source, CancellationToken ct)
    {
        var columns = await ColumnsAsync(source.FromTable!, ct);
        if (!columns.Contains(source.Column!)) throw new InvalidOperationException($"the table {source.FromTable} has no column {source.Column} (any more)");
        var sql = new StringBuilder($"SELECT DISTINCT CAST({ColumnNames.Quote(source.Column!)} AS CHAR) FROM {ColumnNames.Quote(source.FromTable!)} WHERE {ColumnNames.Quote(source.Column!)} IS NOT NULL");
        var args = new DynamicParameters();
        var i = 0;
        foreach (var (column, value) in source.Filter ?? new Dictionary<string, string>())
        {
            if (!columns.Contains(column)) throw new InvalidOperationException($"the table {source.FromTable} has no column {column} (any more)");
            sql.Append(CultureInfo.InvariantCulture, $" AND {ColumnNames.Quote(column)} = @f{i}");
            args.Add($"f{i++}", value);
        }

        sql.Append(" ORDER BY 1");
        await using var connection = await warehouse.OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(sql.ToString(), args, cancellationToken: ct))).ToList();
    }

    /// <summary>
    /// The date a since_last part asks from: its last stored date (rows matched on the part's key values) minus the
    /// overlap, in the parameter's format; the script's default when nothing is stored yet (null: AKShare's own).
    /// </summary>
    public async Task<string?> SinceLastAsync(ParameterSource source, string table, IReadOnlyDictionary<string, string> parameters, CancellationToken ct)
    {
        var columns = await ColumnsAsync(table, ct);
        string? last = null;
        if (columns.Count > 0)
        {
            if (!columns.Contains(source.SinceLast!)) throw new InvalidOperationException($"since_last: the table {table} has no column {source.SinceLast}");
            var sql = new StringBuilder($"SELECT CAST(MAX({ColumnNames.Quote(source.SinceLast!)}) AS CHAR) FROM {ColumnNames.Quote(table)} WHERE 1 = 1");
            var args = new DynamicParameters();
            var i = 0;
            foreach (var (name, column) in source.Match ?? new Dictionary<string, string>())
            {
                if (!columns.Contains(column) || !parameters.TryGetValue(name, out var value)) continue;
                sql.Append(CultureInfo.InvariantCulture, $" AND {ColumnNames.Quote(column)} = @m{i}");
                args.Add($"m{i++}", value);
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
