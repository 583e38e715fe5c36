using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tables;

public static class TablesApi
{
    /// <summary>The rate-limiter policy that caps simultaneous exports, so a big one does not starve the rest.</summary>
    public const string ExportsPolicy = "exports";

    public static IEndpointRouteBuilder MapTablesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tables").WithTags("Tables").RequireAuthorization();
        group.MapGet("/", ListTables.Endpoint).WithName("ListTables")
            .WithDescription("row_count and size_bytes are InnoDB's estimates from information_schema (row_count_is_estimate); GET /api/tables/{table_name} counts exactly.")
            .ProducesErrors(400, 401, 422);
        group.MapGet("/{tableName}", GetTable.Endpoint).WithName("GetTable").ProducesErrors(401, 404);
        group.MapGet("/{tableName}/schema", GetTableSchema.Endpoint).WithName("GetTableSchema").ProducesErrors(401, 404);
        group.MapGet("/{tableName}/data", GetTableData.Endpoint).WithName("GetTableData")
            .WithDescription("Filters: filter[column]=value, or filter[column][gt|gte|lt|lte|like]=value (column by its SQL or AKShare name), e.g. filter[股票代码]=000001&filter[日期][gte]=2024-01-01. _row_key and _row_hash are not shown. " +
                "Paging: page and page_size, or cursor = the previous answer's next_cursor (null on the last page; a cursor of another sort or filter is a 422). " +
                "sort_by a column an index starts with reads the index's order (sort_by=股票代码 orders by 股票代码, 日期, id); any other column sorts the whole filtered set on each request, " +
                "and when that set has 100,000 rows or more the first such request has an index built on the column in the background (ix_sort_<column>), after which that order pages as fast as the others. " +
                "total is exact and cached per table and filters while the table's last_updated_at is unchanged; rows written by other means than the engine are noticed by a recount at most a minute later.")
            .ProducesErrors(400, 401, 404, 422);
        group.MapGet("/{tableName}/coverage", GetTableCoverage.Endpoint).WithName("GetTableCoverage")
            .WithDescription("Coverage of a table whose key has a date column, against the SSE/SZSE trading calendar (GET /api/calendar/trading-days). " +
                "A key (the key columns but the date, e.g. 股票代码, period, adjust) is expected on every trading day from its first stored date or `from`, whichever is later, " +
                "to the last trading day whose close (Market:CloseTime, market time) has passed or `to`, whichever is earlier; keys of weekly or monthly bars (period) once per trading week or month. " +
                "status=gaps|complete|all; filter[key column]=value with the operators of /data (gt, gte, lt, lte, like). " +
                "A table without a date in its key is a 422 that says so.")
            .ProducesErrors(400, 401, 404, 422);
        group.MapGet("/{tableName}/health", GetTableHealth.Endpoint).WithName("GetTableHealth")
            .WithDescription("Health findings of a table of bars (a date in its key, price or volume columns declared in its script's bar_columns or named as AKShare names them: 开盘 收盘 最高 最低 成交量, open close high low volume), per key and day: " +
                "missing_price (null or NaN), non_positive_price, high_below_low, outside_range (open or close outside [low, high]), large_move (close-to-close beyond Health:MoveLimit, default 0.5), " +
                "zero_volume (on a trading day, bars of a day or longer), future_date (after today, market time), non_trading_day (inside the trading calendar's span, not a trading day). " +
                "Checked after every run that wrote the table (the keys it wrote, from the earliest day it wrote) and here when the table changed since its last whole check or the market day moved; " +
                "counts are of every rule within from and to; rule narrows the list. A table without a date in its key or without price and volume columns is a 422 that says so.")
            .ProducesErrors(400, 401, 404, 422);
        group.MapGet("/{tableName}/export", ExportTable.Endpoint).WithName("ExportTable").RequireRateLimiting(ExportsPolicy)
            .WithDescription("format=csv (UTF-8 with BOM; NULL an empty field, an empty string \"\"), excel (xlsx) or parquet (each column typed from the table: DATE a date, DATETIME a timestamp, integers int64, " +
                "DOUBLE double, DECIMAL decimal, text string, NULL null; row groups of 50,000 rows); excel_safe (default true) writes text that begins with = + - @, a tab or a carriage return " +
                "with a leading ' in CSV and Excel, false writes it as stored; limit; the filters and sort of /data. Streamed; headers are AKShare's column names.")
            .Produces(200, contentType: "text/csv").ProducesErrors(400, 401, 404, 422, 429);
        return routes;
    }
}
