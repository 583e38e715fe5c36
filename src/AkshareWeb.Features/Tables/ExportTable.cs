using System.Globalization;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using MiniExcelLibs;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

public static class ExportTable
{
    public sealed class Parameters
    {
        /// <summary>csv (UTF-8 with BOM, RFC 4180), excel (xlsx) or parquet (column types kept).</summary>
        [FromQuery(Name = "format")] public string? Format { get; init; }
        /// <summary>
        /// true (the default): a text cell or column name that begins with = + - @, a tab or a carriage return is written
        /// with a leading ' so that a spreadsheet shows it as text; false: text as it is stored, for pandas and other
        /// programs. CSV and Excel only: a Parquet file is never opened as a spreadsheet.
        /// </summary>
        [FromQuery(Name = "excel_safe")] public bool? ExcelSafe { get; init; }
        /// <summary>At most this many rows.</summary>
        [FromQuery(Name = "limit")] public long? Limit { get; init; }
        [FromQuery(Name = "sort_by")] public string? SortBy { get; init; }
        [FromQuery(Name = "sort_order")] public string? SortOrder { get; init; }
        /// <summary>qfq or hfq: prices adjusted when read, as on the data page (tables whose script declares an adjustment).</summary>
        [FromQuery(Name = "adjust")] public string? Adjust { get; init; }
    }

    /// <summary>What the export needs from the container, as one bundle.</summary>
    public sealed class Services
    {
        public required ManagedTables Tables { get; init; }
        public required WarehouseDatabase Warehouse { get; init; }
        public required MarketTime Market { get; init; }
        public required AdjustedPrices Adjusting { get; init; }
    }

    /// <summary>
    /// Streams the table (same filters and sort as /data) with an unbuffered reader: CSV is written row by row
    /// to the client; Parquet a row group at a time (<see cref="ParquetExport"/>); XLSX row by row into a temporary
    /// file, then sent (<see cref="ExcelExport"/>). A client that goes away cancels the query. Errors after the first byte cannot be
    /// reported in the envelope: the stream just ends. It stays endpoint-only (no Mediator query): its answer is
    /// the stream it writes to the response, not a value.
    /// </summary>
    internal static async Task Endpoint(string tableName, [AsParameters] Parameters p, HttpContext context, [AsParameters] Services services)
    {
        var (tables, warehouse, market) = (services.Tables, services.Warehouse, services.Market);
        var ct = context.RequestAborted;
        var format = (p.Format ?? "csv").ToLowerInvariant();
        if (format is not ("csv" or "excel" or "xlsx" or "parquet")) throw ApiError.Validation("format", "format must be csv, excel or parquet");
        if (p.Limit is < 1) throw ApiError.Validation("limit", "limit must be at least 1");
        var method = AdjustedPrices.Method(p.Adjust);

        var (table, columns, _) = await tables.ResolveAsync(tableName, ct);
        var filters = ManagedTables.Filters(context.Request.Query, columns);
        var order = ManagedTables.OrderBy(p.SortBy, p.SortOrder, columns, "t.");
        var adjusted = await services.Adjusting.PlanAsync(method, new ManagedTable(table, columns, null), filters, ManagedTables.SortColumn(p.SortBy, columns), ct);
        var args = new DynamicParameters();
        var where = ManagedTables.Where(filters, args, "t.");
        var limit = p.Limit is { } l ? $" LIMIT {l.ToString(CultureInfo.InvariantCulture)}" : "";
        var shown = adjusted?.Shown ?? columns.Where(c => !ManagedTables.Hidden.Contains(c.Name)).ToList();
        var sql = $"SELECT {adjusted?.StreamSelectList ?? ManagedTables.SelectList(columns)} FROM {ColumnNames.Quote(table)} t{adjusted?.StreamJoin}{where}{order}{limit}";

        var extension = format switch { "csv" => "csv", "parquet" => "parquet", _ => "xlsx" };
        var guard = p.ExcelSafe ?? true;
        // The market's day (Asia/Shanghai by default), the day the data is of: after 16:00 UTC it is already tomorrow there.
        var file = $"{table}_{market.Today:yyyyMMdd}.{extension}";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{file}\"; filename*=UTF-8''{Uri.EscapeDataString(file)}";
        context.Response.ContentType = format switch
        {
            "csv" => "text/csv; charset=utf-8",
            "parquet" => ParquetExport.MediaType,
            _ => ExcelExport.MediaType,
        };

        await using var connection = (await warehouse.OpenForReadingAsync(ct)).Connection;
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, args, commandTimeout: 0, cancellationToken: ct));
        if (format == "csv")
        {
            await WriteCsvAsync(context.Response.Body, reader, shown, guard, ct);
            return;
        }

        if (format == "parquet")
        {
            await ParquetExport.WriteAsync(context.Response.Body, reader, shown, ct);
            return;
        }

        var headers = shown.Select(c => (Guarded(c.OriginalName, guard), c)).ToList();
        await ExcelExport.WriteAsync(context.Response, Rows(reader, headers, guard, ct), headers, ct);
    }

    /// <summary>The rows for MiniExcel: dates and timestamps as DateTime (date cells), the rest as the data page has them.</summary>
    private static IEnumerable<IDictionary<string, object?>> Rows(System.Data.Common.DbDataReader reader, IReadOnlyList<(string Header, TableColumn Column)> columns, bool guard, CancellationToken ct)
    {
        var dated = columns.Select(c => ExcelExport.DateFormat(c.Column) is not null).ToArray();
        while (reader.Read())
        {
            ct.ThrowIfCancellationRequested();
            var row = new Dictionary<string, object?>(columns.Count, StringComparer.Ordinal);
            for (var i = 0; i < columns.Count; i++)
            {
                row[columns[i].Header] = dated[i] && !reader.IsDBNull(i) ? reader.GetDateTime(i) : Guarded(GetTableData.Value(reader, i, columns[i].Column), guard);
            }

            yield return row;
        }
    }

    /// <summary>
    /// NULL is an empty field and an empty string a quoted one (<c>""</c>), so the two stay apart for a reader that
    /// looks at quotes. pandas' read_csv does not: with its default options both are NaN (README, "Python and pandas").
    /// </summary>
    private static async Task WriteCsvAsync(Stream body, System.Data.Common.DbDataReader reader, IReadOnlyList<TableColumn> shown, bool guard, CancellationToken ct)
    {
        // UTF-8 with a BOM: Excel then shows the Chinese headers and values as they are.
        await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true), bufferSize: 1 << 16);
        var line = new StringBuilder(1024);
        for (var i = 0; i < shown.Count; i++)
        {
            if (i > 0) line.Append(',');
            Field(line, Guarded(shown[i].OriginalName, guard));
        }

        await writer.WriteLineAsync(line, ct);
        while (await reader.ReadAsync(ct))
        {
            line.Clear();
            for (var i = 0; i < shown.Count; i++)
            {
                if (i > 0) line.Append(',');
                var value = GetTableData.Value(reader, i, shown[i]);
                if (value is null) continue;
                var text = Convert.ToString(Guarded(value, guard), CultureInfo.InvariantCulture) ?? "";
                if (text.Length == 0) line.Append("\"\"");
                else Field(line, text);
            }

            await writer.WriteLineAsync(line, ct);
        }

        await writer.FlushAsync(ct);
    }

    /// <summary>
    /// Text fetched from the internet must not become a formula when the file is opened in a spreadsheet (CSV
    /// injection): a text cell, or a column name, that begins with = + - @, a tab or a carriage return gets a leading
    /// apostrophe, which spreadsheets read as "this is text". Numbers and dates are not text and stay as they are.
    /// </summary>
    internal static string Neutralised(string text) =>
        text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + text : text;

    private static string Guarded(string text, bool guard) => guard ? Neutralised(text) : text;

    private static object? Guarded(object? value, bool guard) => guard && value is string text ? Neutralised(text) : value;

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.</summary>
    private static void Field(StringBuilder line, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            line.Append(value);
            return;
        }

        line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}
