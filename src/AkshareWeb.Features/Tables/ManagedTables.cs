using System.Globalization;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.Http;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tables;

/// <summary>A column as the API shows it; <c>name</c> is the SQL name, <c>original_name</c> AKShare's.</summary>
public sealed record TableColumn(string Name, string Type, bool Nullable, string? Key, string? Comment, string OriginalName);

/// <summary>One filter on a column: eq, gt, gte, lt, lte or like.</summary>
public sealed record ColumnFilter(TableColumn Column, string Operator, string Value);

/// <summary>
/// The ak_* tables AkshareWeb manages: listed in warehouse_tables and present in the warehouse schema. Every
/// identifier that reaches SQL here comes from information_schema, never from the request: a name that is not a
/// managed table is a 404, a column that is not the table's is a 422.
/// </summary>
public sealed class ManagedTables(Database database, Warehouse warehouse)
{
    /// <summary>Bookkeeping bytes no reader wants; every other column is shown.</summary>
    public static readonly string[] Hidden = ["_row_key", "_row_hash"];

    public async Task<(string Table, IReadOnlyList<TableColumn> Columns)> ResolveAsync(string tableName, CancellationToken ct)
    {
        if (!WarehouseWriter.TableNamePattern().IsMatch(tableName)) throw ApiError.NotFound("table");
        await using (var app = await database.OpenAsync(ct))
        {
            var registered = await app.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT COUNT(*) FROM warehouse_tables WHERE table_name = @tableName", new { tableName }, cancellationToken: ct));
            if (registered == 0) throw ApiError.NotFound("table");
        }

        await using var connection = await warehouse.OpenAsync(ct);
        var columns = (await connection.QueryAsync<(string Name, string Type, string Nullable, string Key, string Comment)>(new CommandDefinition("""
            SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, COLUMN_COMMENT FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @tableName ORDER BY ORDINAL_POSITION
            """, new { tableName }, cancellationToken: ct)))
            .Select(c => new TableColumn(c.Name, c.Type.ToUpperInvariant(), c.Nullable == "YES", c.Key.Length == 0 ? null : c.Key, c.Comment.Length == 0 ? null : c.Comment,
                OriginalName(c.Name, c.Comment)))
            .ToList();
        if (columns.Count == 0) throw ApiError.NotFound("table");
        return (tableName, columns);
    }

    private static string OriginalName(string name, string comment)
    {
        if (name.StartsWith('_') || name == "id" || comment.Length == 0) return name;
        return comment.StartsWith("json:", StringComparison.Ordinal) ? System.Text.Json.JsonSerializer.Deserialize<string>(comment[5..]) ?? name : comment;
    }

    /// <summary>
    /// Filters from the query string: <c>filter[列]=v</c> (equal) or <c>filter[列][op]=v</c> with op gt, gte, lt,
    /// lte or like. A column is named by its SQL name or its AKShare name.
    /// </summary>
    public static IReadOnlyList<ColumnFilter> Filters(IQueryCollection query, IReadOnlyList<TableColumn> columns)
    {
        var filters = new List<ColumnFilter>();
        var errors = new List<FieldError>();
        foreach (var (key, values) in query)
        {
            if (!key.StartsWith("filter[", StringComparison.Ordinal)) continue;
            var close = key.IndexOf(']', StringComparison.Ordinal);
            var name = close > 7 ? key[7..close] : "";
            var rest = key[(close + 1)..];
            var op = rest.Length == 0 ? "eq" : rest.StartsWith('[') && rest.EndsWith(']') ? rest[1..^1] : "?";
            var column = columns.FirstOrDefault(c => c.Name == name) ?? columns.FirstOrDefault(c => c.OriginalName == name);
            if (column is null || Hidden.Contains(column.Name))
            {
                errors.Add(new FieldError(key, $"no column {name} in this table"));
                continue;
            }

            if (op is not ("eq" or "gt" or "gte" or "lt" or "lte" or "like"))
            {
                errors.Add(new FieldError(key, "operator must be eq, gt, gte, lt, lte or like"));
                continue;
            }

            foreach (var value in values)
            {
                if (value is null) continue;
                if (!Fits(column.Type, value))
                {
                    errors.Add(new FieldError(key, $"{value} is not a value of {column.Type}"));
                    continue;
                }

                filters.Add(new ColumnFilter(column, op, value));
            }
        }

        if (errors.Count > 0) throw new ApiError(422, ErrorCodes.ValidationFailed, "invalid filters", errors);
        return filters;
    }

    private static bool Fits(string type, string value) =>
        type.StartsWith("BIGINT", StringComparison.Ordinal) || type.StartsWith("INT", StringComparison.Ordinal) || type.StartsWith("TINYINT", StringComparison.Ordinal)
            ? long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            : type.StartsWith("DOUBLE", StringComparison.Ordinal) || type.StartsWith("DECIMAL", StringComparison.Ordinal)
                ? decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                : type.StartsWith("DATE", StringComparison.Ordinal)
                    ? DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
                    : true;

    /// <summary>WHERE clause (identifiers from the catalogue, values as parameters).</summary>
    public static string Where(IReadOnlyList<ColumnFilter> filters, DynamicParameters args)
    {
        if (filters.Count == 0) return "";
        var sql = new StringBuilder(" WHERE ");
        for (var i = 0; i < filters.Count; i++)
        {
            var f = filters[i];
            if (i > 0) sql.Append(" AND ");
            var op = f.Operator switch { "gt" => ">", "gte" => ">=", "lt" => "<", "lte" => "<=", "like" => "LIKE", _ => "=" };
            sql.Append(ColumnNames.Quote(f.Column.Name)).Append(' ').Append(op).Append(" @f").Append(i.ToString(CultureInfo.InvariantCulture));
            args.Add("f" + i.ToString(CultureInfo.InvariantCulture), f.Operator == "like" ? Like.Contains(f.Value) : f.Value);
        }

        return sql.ToString();
    }

    /// <summary>ORDER BY a real column (else 422), id as the tie-breaker so pages never overlap.</summary>
    public static string OrderBy(string? sortBy, string? sortOrder, IReadOnlyList<TableColumn> columns)
    {
        var direction = (sortOrder ?? "asc").ToLowerInvariant() switch
        {
            "asc" => "ASC",
            "desc" => "DESC",
            _ => throw ApiError.Validation("sort_order", "sort_order must be asc or desc"),
        };
        if (string.IsNullOrEmpty(sortBy)) return $" ORDER BY id {direction}";
        var column = columns.FirstOrDefault(c => c.Name == sortBy) ?? columns.FirstOrDefault(c => c.OriginalName == sortBy);
        if (column is null || Hidden.Contains(column.Name)) throw ApiError.Validation("sort_by", $"no column {sortBy} in this table");
        return column.Name == "id" ? $" ORDER BY id {direction}" : $" ORDER BY {ColumnNames.Quote(column.Name)} {direction}, id {direction}";
    }

    public static string SelectList(IReadOnlyList<TableColumn> columns) =>
        string.Join(", ", columns.Where(c => !Hidden.Contains(c.Name)).Select(c => "t." + ColumnNames.Quote(c.Name)));
}
