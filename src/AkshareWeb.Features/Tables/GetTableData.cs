using System.Globalization;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tables;

public static class GetTableData
{
    public sealed class Parameters : PageParameters
    {
        /// <summary>A column (its SQL or AKShare name); default id.</summary>
        [FromQuery(Name = "sort_by")] public string? SortBy { get; init; }
        /// <summary>asc or desc.</summary>
        [FromQuery(Name = "sort_order")] public string? SortOrder { get; init; }
    }

    /// <summary>
    /// Rows by page. Filters: <c>filter[列]=v</c> or <c>filter[列][gte|gt|lte|lt|like]=v</c>, e.g.
    /// <c>filter[股票代码]=000001&amp;filter[日期][gte]=2024-01-01</c>. Deep pages scan only the index of the sort
    /// column (a deferred join on id), so the natural-key columns the engine indexes page fast at any depth.
    /// </summary>
    internal static async Task<Ok<Envelope<Paged<Dictionary<string, object?>>>>> Endpoint(
        string tableName, [AsParameters] Parameters p, HttpContext context, ManagedTables tables, Warehouse warehouse, CancellationToken ct)
    {
        var paging = p.ToRequest(100);
        var problems = new PageRequestValidator().Validate(paging);
        if (!problems.IsValid) throw ApiError.Validation(JsonNames.Of(problems.Errors[0].PropertyName), problems.Errors[0].ErrorMessage);

        var (table, columns) = await tables.ResolveAsync(tableName, ct);
        var filters = ManagedTables.Filters(context.Request.Query, columns);
        var order = ManagedTables.OrderBy(p.SortBy, p.SortOrder, columns);
        var args = new DynamicParameters();
        var where = ManagedTables.Where(filters, args);
        args.Add("limit", paging.PageSize);
        args.Add("offset", paging.Offset);
        var quoted = ColumnNames.Quote(table);

        await using var connection = await warehouse.OpenAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {quoted}{where}", args, cancellationToken: ct));
        var sql = $"""
            SELECT {ManagedTables.SelectList(columns)} FROM {quoted} t
            JOIN (SELECT id FROM {quoted}{where}{order} LIMIT @limit OFFSET @offset) page ON page.id = t.id
            {order.Replace("ORDER BY ", "ORDER BY t.", StringComparison.Ordinal).Replace(", id ", ", t.id ", StringComparison.Ordinal)}
            """;
        var rows = new List<Dictionary<string, object?>>();
        await using (var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, args, cancellationToken: ct)))
        {
            var shown = columns.Where(c => !ManagedTables.Hidden.Contains(c.Name)).ToList();
            while (await reader.ReadAsync(ct))
            {
                var row = new Dictionary<string, object?>(shown.Count, StringComparer.Ordinal);
                for (var i = 0; i < shown.Count; i++) row[shown[i].Name] = Value(reader, i, shown[i].Type);
                rows.Add(row);
            }
        }

        return TypedResults.Ok(Envelope<Paged<Dictionary<string, object?>>>.Success(Paged<Dictionary<string, object?>>.Of(rows, total, paging)));
    }

    /// <summary>A value for JSON or CSV: DATE as yyyy-MM-dd, DATETIME in ISO 8601, the rest as MySQL gives it.</summary>
    internal static object? Value(System.Data.Common.DbDataReader reader, int ordinal, string type)
    {
        if (reader.IsDBNull(ordinal)) return null;
        var value = reader.GetValue(ordinal);
        return value switch
        {
            DateTime d when type == "DATE" => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            DateTime d => d.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFF", CultureInfo.InvariantCulture),
            MySqlDecimal m => m.ToString(),
            _ => value,
        };
    }
}
