using System.Globalization;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// A page of a table's rows: the list fields of every list (items, total, page, page_size, total_pages) and
/// <c>next_cursor</c>, which asks for the rows after this page (null on the last page). <c>page</c> is null when
/// the page was asked for by cursor.
/// </summary>
public sealed record TableDataPage(IReadOnlyList<Dictionary<string, object?>> Items, long Total, int? Page, int PageSize, int TotalPages, string? NextCursor);

public static class GetTableData
{
    public sealed class Parameters : PageParameters
    {
        /// <summary>A column (its SQL or AKShare name); default id.</summary>
        [FromQuery(Name = "sort_by")] public string? SortBy { get; init; }
        /// <summary>asc or desc.</summary>
        [FromQuery(Name = "sort_order")] public string? SortOrder { get; init; }
        /// <summary>next_cursor of the previous answer (same sort and filters): the rows after it; page is then ignored.</summary>
        [FromQuery(Name = "cursor")] public string? Cursor { get; init; }
        /// <summary>
        /// qfq or hfq: for a table whose data script declares an adjustment, its price columns adjusted when read, from
        /// the stored unadjusted prices and the current factors (a row before its key's first factor: null). Absent:
        /// the prices as stored. Not with a filter or sort on a price column.
        /// </summary>
        [FromQuery(Name = "adjust")] public string? Adjust { get; init; }
    }

    /// <summary>
    /// Rows by page. Filters: <c>filter[列]=v</c> or <c>filter[列][gte|gt|lte|lt|like]=v</c>, e.g.
    /// <c>filter[股票代码]=000001&amp;filter[日期][gte]=2024-01-01</c>.
    /// <para>Order: sort_by then id. When an index starts with the sort column (id; the natural key's first column;
    /// a date column of the natural key, which the engine indexes on its own) the rows come in that index's order
    /// (e.g. sort_by=股票代码 orders by 股票代码, 日期, id), read straight from the index. Sorting by a column without
    /// an index of its own sorts the whole filtered set on every request (about 200 ms for a million rows). When that
    /// set has 100,000 rows or more, the first such request also has an index built on the column in the background
    /// (<c>ix_sort_列</c>; numbers, dates and strings of up to 768 characters; at most 16 per table; configuration
    /// <c>Tables:IndexSortedColumns</c> turns it off): from then on pages in that order are as fast as pages by
    /// date. In GET /api/tables/{table_name}/schema, key PRI, UNI or MUL marks a column an index starts with.</para>
    /// <para>Paging: <c>page</c> and <c>page_size</c>, or <c>cursor</c> = the <c>next_cursor</c> of the previous answer
    /// (null on the last page), which continues after that answer's last row at the cost of one page at any depth;
    /// a cursor given for another sort or filter is a 422. With a cursor, <c>page</c> is ignored and answered as null.
    /// In an indexed order a deep page starts from the nearest cached position (the sort keys of every 10,000th row,
    /// or of every thousandth part of the rows in a bigger table): the first request that goes deep looks the
    /// positions up once, later pages at any depth skip less than one step.</para>
    /// <para><c>total</c> is exact, counted on the first request for a table and filters and then cached while the
    /// table's last_updated_at is unchanged. After each run of the engine a table of 100,000 rows or more is counted
    /// and its positions (id and every index's first column, both directions) are looked up in the background,
    /// as at start-up, so deep pages are fast from the first request. Rows written by other means than the engine
    /// are noticed by a background recount at most once a minute while the table is being read.</para>
    /// </summary>
    /// <param name="Filters">The query string, whose <c>filter[...]</c> keys are the filters.</param>
    public sealed record Query(string TableName, PageRequest Paging, string? SortBy, string? SortOrder, string? Cursor, IQueryCollection Filters, string? Adjust = null)
        : IQuery<TableDataPage>;

    /// <summary>Paging checked first, and only its first problem reported; the rest needs the table's columns.</summary>
    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Paging).Custom((paging, context) =>
        {
            var problems = new PageRequestValidator().Validate(paging);
            if (!problems.IsValid) context.AddFailure(problems.Errors[0].PropertyName, problems.Errors[0].ErrorMessage);
        });
    }

    public sealed class Handler(ManagedTables tables, WarehouseDatabase warehouse, TableReadCache cache, TableWarmer warmer, SortIndexes sortIndexes, AdjustedPrices adjusting)
        : IQueryHandler<Query, TableDataPage>
    {
        /// <summary>How long a page is read again after a conflict (a Galera node aborts reads of a table whose index
        /// another node builds) or a lost connection, before the request gives up with a 503.</summary>
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

        public async ValueTask<TableDataPage> Handle(Query query, CancellationToken ct) =>
            await Failover.RetryAsync(token => ReadAsync(query, token), Patience, ct);

        private async Task<TableDataPage> ReadAsync(Query query, CancellationToken ct)
        {
            var paging = query.Paging;
            var method = AdjustedPrices.Method(query.Adjust);

            // A remembered shape is checked against the registration in the page's own round trip (when the warehouse
            // is the application database) or trusted for its short lifetime (a warehouse apart): either way the page
            // then costs one query beside the session check.
            var remembered = tables.Remembered(query.TableName);
            var checkedShape = remembered is { Check: true } ? remembered.Value.Shape : null;
            var (table, indexes, _) = remembered?.Shape ?? await tables.ShapeAsync(query.TableName, ct);
            var filters = ManagedTables.Filters(query.Filters, table.Columns);
            var direction = ManagedTables.Direction(query.SortOrder);
            var sortColumn = ManagedTables.SortColumn(query.SortBy, table.Columns);
            var adjusted = await adjusting.PlanAsync(method, table, filters, sortColumn, ct);

            var reading = await warehouse.OpenForReadingAsync(ct);
            await using var connection = reading.Connection;
            // A read node's copy of warehouse_tables is not checked in the page's batch: the shape is trusted for its
            // lifetime, as with a warehouse apart.
            if (reading.OnReadNode) checkedShape = null;
            var plan = ManagedTables.Sort(sortColumn, direction, table.Columns, indexes);
            var filterSignature = ManagedTables.Signature(filters);
            var fingerprint = TableCursor.Fingerprint(table.Name, plan, filterSignature);
            var cursor = string.IsNullOrEmpty(query.Cursor) ? null : TableCursor.Decode(query.Cursor, fingerprint, plan);
            var quoted = ColumnNames.Quote(table.Name);

            var tableKey = TableReadCache.TableKey(warehouse.ConnectionString, table.Name);
            if (cache.CheckDue(tableKey)) warmer.Revalidate(table.Name);
            var countKey = TableReadCache.CountKey(tableKey, filterSignature);
            var total = await cache.TotalAsync(countKey, table.LastUpdatedAt, async () =>
            {
                var args = new DynamicParameters();
                var where = ManagedTables.Where(filters, args);
                return await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {quoted}{where}", args, cancellationToken: ct));
            });

            if (!plan.Indexed) sortIndexes.Request(table, sortColumn, total, indexes);

            // Where the page starts: after the cursor's row; else after the nearest known position before the
            // offset (indexed orders only: finding positions in a sorted-on-request order would sort each time).
            var after = cursor;
            long skip = cursor is null ? paging.Offset : 0;
            if (cursor is null && plan.Indexed)
            {
                var positions = cache.Positions(TableReadCache.PositionsKey(countKey, plan), table.LastUpdatedAt, total);
                (after, skip) = await positions.SeekAsync(connection, quoted, plan, filters, paging.Offset, ct);
            }

            var pageArgs = PagePositions.Arguments(plan, filters, after, out var pageWhere);
            pageArgs.Add("limit", paging.PageSize + 1);
            pageArgs.Add("offset", skip);
            if (checkedShape is not null) pageArgs.Add("registeredTable", table.Name);
            var sql = $"""
                {(checkedShape is null ? "" : ManagedTables.RegistrationCheck)}
                SELECT {adjusted?.RowSelectList ?? ManagedTables.SelectList(table.Columns)} FROM {quoted} t
                JOIN (SELECT id FROM {quoted}{pageWhere}{plan.OrderBy()} LIMIT @limit OFFSET @offset) page ON page.id = t.id
                {plan.OrderBy("t.", readingIndex: false)}
                """;
            var shown = adjusted?.Shown.ToList() ?? table.Columns.Where(c => !ManagedTables.Hidden.Contains(c.Name)).ToList();
            var keyOrdinals = plan.Keys.Select(k => shown.FindIndex(c => c.Name == k.Name)).ToArray();
            var rows = new List<Dictionary<string, object?>>(paging.PageSize);
            string? nextCursor = null;
            var stale = false;
            await using (var reader = await ReadPageAsync(connection, tables, table.Name, new CommandDefinition(sql, pageArgs, cancellationToken: ct)))
            {
                if (checkedShape is not null && !await ManagedTables.StillRegisteredAsync(reader, checkedShape, ct))
                {
                    // Changed since (a run on another instance, or no longer registered): read afresh and asked again.
                    tables.Forget(table.Name);
                    stale = true;
                }

                string?[]? lastKeys = null;
                while (!stale && await reader.ReadAsync(ct))
                {
                    if (rows.Count == paging.PageSize)
                    {
                        // The row after the page exists: the page's last row is where the next one starts.
                        nextCursor = TableCursor.Encode(fingerprint, lastKeys!);
                        break;
                    }

                    var row = new Dictionary<string, object?>(shown.Count, StringComparer.Ordinal);
                    for (var i = 0; i < shown.Count; i++) row[shown[i].Name] = Value(reader, i, shown[i]);
                    rows.Add(row);
                    if (rows.Count == paging.PageSize)
                    {
                        lastKeys = keyOrdinals.Select((ordinal, k) => KeyValues.Token(reader.GetValue(ordinal), plan.Keys[k])).ToArray();
                    }
                }
            }

            if (stale)
            {
                await connection.DisposeAsync();
                return await ReadAsync(query, ct);
            }

            var totalPages = total == 0 ? 0 : (int)Math.Min(int.MaxValue, (total + paging.PageSize - 1) / paging.PageSize);
            return new TableDataPage(rows, total, cursor is null ? paging.Page : null, paging.PageSize, totalPages, nextCursor);
        }
    }

    internal static async Task<Ok<Envelope<TableDataPage>>> Endpoint(string tableName, [AsParameters] Parameters p, HttpContext context, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TableDataPage>.Success(await mediator.Send(
            new Query(tableName, p.ToRequest(PageRequest.MaxPageSize), p.SortBy, p.SortOrder, p.Cursor, context.Request.Query, p.Adjust), ct)));

    /// <summary>
    /// The page's query. A table changed by other means since its shape was read (a column or an index gone) makes
    /// it fail: the shape is forgotten so the next request reads it again.
    /// </summary>
    private static async Task<System.Data.Common.DbDataReader> ReadPageAsync(MySqlConnection connection, ManagedTables tables, string table, CommandDefinition command)
    {
        try
        {
            return await connection.ExecuteReaderAsync(command);
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.BadFieldError or MySqlErrorCode.NoSuchTable or MySqlErrorCode.KeyDoesNotExist)
        {
            tables.Forget(table);
            throw;
        }
    }

    /// <summary>
    /// A value for JSON or CSV: DATE as yyyy-MM-dd, DATETIME in ISO 8601, the rest as MySQL gives it. _collected_at is
    /// written in UTC, and says so with a Z as every other timestamp of the API; a collected DATETIME has no zone (it is
    /// the source's, mostly market time) and is shown as it came.
    /// </summary>
    internal static object? Value(System.Data.Common.DbDataReader reader, int ordinal, TableColumn column)
    {
        if (reader.IsDBNull(ordinal)) return null;
        var value = reader.GetValue(ordinal);
        return value switch
        {
            DateTime d when column.Type == "DATE" => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            DateTime d when column.Name == BookkeepingColumns.CollectedAt => d.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFF", CultureInfo.InvariantCulture) + "Z",
            DateTime d => d.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFF", CultureInfo.InvariantCulture),
            MySqlDecimal m => m.ToString(),
            _ => value,
        };
    }
}
