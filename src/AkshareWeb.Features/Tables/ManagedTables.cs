using System.Globalization;
using Dapper;
using Microsoft.AspNetCore.Http;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>A column as the API shows it; <c>name</c> is the SQL name, <c>original_name</c> AKShare's.</summary>
public sealed record TableColumn(string Name, string Type, bool Nullable, string? Key, string? Comment, string OriginalName);

/// <summary>One filter on a column: eq, gt, gte, lt, lte or like.</summary>
public sealed record ColumnFilter(TableColumn Column, string Operator, string Value);

/// <summary>A managed table: its name, its columns and warehouse_tables' last_updated_at.</summary>
public sealed record ManagedTable(string Name, IReadOnlyList<TableColumn> Columns, DateTime? LastUpdatedAt);

/// <summary>An index usable for ordering: its name and columns, in index order.</summary>
public sealed record TableIndex(string Name, IReadOnlyList<string> Columns, bool Unique = false);

/// <summary>
/// The ak_* tables AkshareWeb manages: listed in warehouse_tables and present in the warehouse schema. Every
/// identifier that reaches SQL here comes from information_schema, never from the request: a name that is not a
/// managed table is a 404, a column that is not the table's is a 422.
/// </summary>
public sealed class ManagedTables
{
    /// <summary>Bookkeeping bytes no reader wants; every other column is shown.</summary>
    public static readonly string[] Hidden = BookkeepingColumns.Hidden;

    /// <summary>
    /// How long a table's cached columns and indexes serve without being read again: the bound on noticing DDL
    /// made by other means than a run (by hand). A run on any instance moves last_updated_at, which drops them; this
    /// instance's own runs and index builds drop them at once (<see cref="TableChanges.NotifyShapeChanged"/>).
    /// </summary>
    public static readonly TimeSpan ShapeLifetime = TimeSpan.FromSeconds(5);

    private readonly Database database;
    private readonly WarehouseTables registry;
    private readonly WarehouseDatabase warehouse;
    private readonly TimeProvider time;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Shape> shapes = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> generations = new(StringComparer.Ordinal);

    /// <summary>A table as /data needs it: registration, columns and indexes, and when they were read.</summary>
    public sealed record Shape(ManagedTable Table, IReadOnlyList<TableIndex> Indexes, long ReadAt);

    public ManagedTables(Database database, WarehouseTables registry, WarehouseDatabase warehouse, TableChanges writes, TimeProvider time)
    {
        (this.database, this.registry, this.warehouse, this.time) = (database, registry, warehouse, time);
        writes.ShapeChanged += Forget;
    }

    /// <summary>
    /// The table, its columns and its indexes: its registration (and last_updated_at) read on every call, one
    /// primary-key lookup; its columns and indexes from memory while last_updated_at is what it was when they were
    /// read, they were read less than <see cref="ShapeLifetime"/> ago, and this instance announced no change since.
    /// A page then costs the lookup and the page beside the session check, not two information_schema reads.
    /// </summary>
    public async Task<Shape> ShapeAsync(string tableName, CancellationToken ct)
    {
        var lastUpdatedAt = await RegistrationAsync(tableName, ct);
        var key = warehouse.ConnectionString + "\u001e" + tableName;
        if (shapes.TryGetValue(key, out var known) && known.Table.LastUpdatedAt == lastUpdatedAt && time.GetElapsedTime(known.ReadAt) < ShapeLifetime) return known;
        // A change announced while this reading is under way makes it stale before it is stored: not stored then.
        var generation = generations.GetValueOrDefault(tableName);
        var startedAt = time.GetTimestamp();
        IReadOnlyList<TableIndex> indexes;
        ManagedTable table;
        await using (var connection = await warehouse.OpenAsync(ct))
        {
            table = new ManagedTable(tableName, await ColumnsAsync(connection, tableName, ct), lastUpdatedAt);
            indexes = await IndexesAsync(connection, table.Name, ct);
        }

        var shape = new Shape(table, indexes, startedAt);
        if (generations.GetValueOrDefault(tableName) == generation)
        {
            if (shapes.Count > 10_000) shapes.Clear();
            shapes[key] = shape;
        }

        return shape;
    }

    /// <summary>
    /// The remembered shape, younger than <see cref="ShapeLifetime"/>, and whether the caller must check it in its
    /// own query (<see cref="RegistrationCheck"/>). It must when the warehouse is the application database:
    /// warehouse_tables is then at hand in the page's own round trip, and a change made on another instance (or by
    /// hand) is seen at once. With a warehouse apart, warehouse_tables is in another database, and checking it would
    /// cost a query of its own: the shape is then trusted for its lifetime, so such a change is seen within
    /// <see cref="ShapeLifetime"/>; this instance's own runs and index builds drop it at once either way.
    /// </summary>
    public (Shape Shape, bool Check)? Remembered(string tableName) =>
        shapes.TryGetValue(warehouse.ConnectionString + "\u001e" + tableName, out var known) && time.GetElapsedTime(known.ReadAt) < ShapeLifetime
            ? (known, string.Equals(warehouse.ConnectionString, database.ConnectionString, StringComparison.Ordinal))
            : null;

    /// <summary>The first statement of a batch that uses a remembered shape; its argument is @registeredTable.</summary>
    public const string RegistrationCheck = WarehouseTables.RegistrationCheck;

    /// <summary>Reads <see cref="RegistrationCheck"/>'s answer and moves to the next result: true when the shape still holds.</summary>
    public static Task<bool> StillRegisteredAsync(System.Data.Common.DbDataReader reader, Shape shape, CancellationToken ct) =>
        WarehouseTables.StillRegisteredAsync(reader, shape.Table.LastUpdatedAt, ct);

    /// <summary>Drops what is remembered of the table's shape (every warehouse's).</summary>
    public void Forget(string tableName)
    {
        generations.AddOrUpdate(tableName, 1, (_, g) => g + 1);
        foreach (var key in shapes.Keys.Where(k => k.EndsWith("\u001e" + tableName, StringComparison.Ordinal))) shapes.TryRemove(key, out _);
    }

    /// <summary>
    /// The table and its columns, or a 404. <see cref="ManagedTable.LastUpdatedAt"/> is warehouse_tables'
    /// last_updated_at, read before anything else about the table: cached figures are valid while it is unchanged.
    /// </summary>
    public async Task<ManagedTable> ResolveAsync(string tableName, CancellationToken ct)
    {
        var lastUpdatedAt = await RegistrationAsync(tableName, ct);
        await using var connection = await warehouse.OpenAsync(ct);
        return new ManagedTable(tableName, await ColumnsAsync(connection, tableName, ct), lastUpdatedAt);
    }

    /// <summary>warehouse_tables' last_updated_at of a registered table, else a 404.</summary>
    private async Task<DateTime?> RegistrationAsync(string tableName, CancellationToken ct)
    {
        if (!TableNames.IsWarehouseTable(tableName)) throw ApiError.NotFound("table");
        var (registered, lastUpdatedAt) = await registry.LastUpdatedAsync(tableName, ct);
        if (!registered) throw ApiError.NotFound("table");
        return lastUpdatedAt;
    }

    private static async Task<IReadOnlyList<TableColumn>> ColumnsAsync(MySqlConnection connection, string tableName, CancellationToken ct)
    {
        var columns = (await connection.QueryAsync<(string Name, string Type, string Nullable, string Key, string Comment)>(new CommandDefinition("""
            SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, COLUMN_COMMENT FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @tableName ORDER BY ORDINAL_POSITION
            """, new { tableName }, cancellationToken: ct)))
            .Select(c => new TableColumn(c.Name, c.Type.ToUpperInvariant(), c.Nullable == "YES", c.Key.Length == 0 ? null : c.Key, c.Comment.Length == 0 ? null : c.Comment,
                ColumnComments.OriginalName(c.Name, c.Comment)))
            .ToList();
        if (columns.Count == 0) throw ApiError.NotFound("table");
        return columns;
    }

    /// <summary>
    /// The table's B-tree indexes that can deliver rows in order: whole columns (no prefix), all ascending (a
    /// backward scan then gives descending order, the primary key appended by InnoDB included).
    /// </summary>
    public static async Task<IReadOnlyList<TableIndex>> IndexesAsync(MySqlConnection connection, string table, CancellationToken ct)
    {
        var parts = await connection.QueryAsync<(string Index, string? Column, string? Collation, long? SubPart, string? Type, long NonUnique)>(new CommandDefinition("""
            SELECT INDEX_NAME, COLUMN_NAME, COLLATION, SUB_PART, INDEX_TYPE, NON_UNIQUE FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table ORDER BY INDEX_NAME, SEQ_IN_INDEX
            """, new { table }, cancellationToken: ct));
        return parts.GroupBy(p => p.Index, StringComparer.Ordinal)
            .Where(g => g.All(p => p.Column is not null && p.SubPart is null && p.Collation == "A" && p.Type == "BTREE"))
            .Select(g => new TableIndex(g.Key, g.Select(p => p.Column!).ToList(), g.First().NonUnique == 0))
            .ToList();
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
            if (!key.StartsWith("filter", StringComparison.OrdinalIgnoreCase)) continue;
            // A filter the reader meant but wrote otherwise (filter=1, filter[x][]=1, Filter[x]=1) must not be ignored:
            // the answer would look filtered and hold every row.
            if (!key.StartsWith("filter[", StringComparison.Ordinal) || key.IndexOf(']', StringComparison.Ordinal) < 0)
            {
                errors.Add(new FieldError(key, "a filter is written filter[column]=value or filter[column][op]=value"));
                continue;
            }

            var close = key.IndexOf(']', StringComparison.Ordinal);
            var name = close > 7 ? key[7..close] : "";
            var rest = key[(close + 1)..];
            var op = rest.Length == 0 ? FilterOperators.Equal : rest.Length > 2 && rest.StartsWith('[') && rest.EndsWith(']') ? rest[1..^1] : "?";
            var column = columns.FirstOrDefault(c => c.Name == name) ?? columns.FirstOrDefault(c => c.OriginalName == name);
            if (column is null || Hidden.Contains(column.Name))
            {
                errors.Add(new FieldError(key, $"no column {name} in this table"));
                continue;
            }

            if (!FilterOperators.IsKnown(op))
            {
                errors.Add(new FieldError(key, FilterOperators.Expected));
                continue;
            }

            foreach (var value in values)
            {
                if (value is null) continue;
                if (FilterOperators.Canonical(column.Type, op, value) is not { } canonical)
                {
                    errors.Add(new FieldError(key, $"{value} is not a value of {column.Type}: {FilterOperators.Expecting(column.Type)}"));
                    continue;
                }

                filters.Add(new ColumnFilter(column, op, canonical));
            }
        }

        if (errors.Count > 0) throw new ApiError(422, ErrorCodes.ValidationFailed, "invalid filters", errors);
        return filters;
    }

    /// <summary>WHERE clause (identifiers from the catalogue, each prefixed, e.g. <c>t.</c>; values as parameters).</summary>
    public static string Where(IReadOnlyList<ColumnFilter> filters, DynamicParameters args, string prefix = "")
    {
        var conditions = Conditions(filters, args, prefix);
        return conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions);
    }

    /// <summary>One condition per filter, its value the parameter f0, f1, ...</summary>
    public static List<string> Conditions(IReadOnlyList<ColumnFilter> filters, DynamicParameters args, string prefix = "")
    {
        var conditions = new List<string>(filters.Count);
        for (var i = 0; i < filters.Count; i++)
        {
            var f = filters[i];
            var name = "f" + i.ToString(CultureInfo.InvariantCulture);
            conditions.Add(FilterOperators.Condition(prefix + ColumnNames.Quote(f.Column.Name), f.Operator, name));
            args.Add(name, FilterOperators.Argument(f.Operator, f.Value));
        }

        return conditions;
    }

    /// <summary>The filters in a canonical form (their order in the query string does not matter): the part of a
    /// cache key or cursor fingerprint that stands for them.</summary>
    public static string Signature(IReadOnlyList<ColumnFilter> filters) =>
        string.Join('\u001e', filters.Select(f => $"{f.Column.Name}\u001f{f.Operator}\u001f{f.Value}").Order(StringComparer.Ordinal));

    /// <summary>ORDER BY a real column (else 422), id as the tie-breaker so pages never overlap.</summary>
    public static string OrderBy(string? sortBy, string? sortOrder, IReadOnlyList<TableColumn> columns, string prefix = "")
    {
        var direction = Direction(sortOrder);
        var column = SortColumn(sortBy, columns);
        return column.Name == "id" ? $" ORDER BY {prefix}id {direction}" : $" ORDER BY {prefix}{ColumnNames.Quote(column.Name)} {direction}, {prefix}id {direction}";
    }

    /// <summary>ASC or DESC from sort_order (default asc), else 422.</summary>
    public static string Direction(string? sortOrder) => (sortOrder ?? "asc").ToLowerInvariant() switch
    {
        "asc" => "ASC",
        "desc" => "DESC",
        _ => throw ApiError.Validation("sort_order", "sort_order must be asc or desc"),
    };

    /// <summary>The column sort_by names (its SQL or AKShare name; default id), else 422.</summary>
    public static TableColumn SortColumn(string? sortBy, IReadOnlyList<TableColumn> columns)
    {
        if (string.IsNullOrEmpty(sortBy)) sortBy = "id";
        var column = columns.FirstOrDefault(c => c.Name == sortBy) ?? columns.FirstOrDefault(c => c.OriginalName == sortBy);
        if (column is null || Hidden.Contains(column.Name)) throw ApiError.Validation("sort_by", $"no column {sortBy} in this table");
        return column;
    }

    /// <summary>
    /// The order of /data for a sort column: when an index starts with the column, that index's columns and
    /// then id (all in one direction), which the index delivers as it is stored; otherwise the column and id,
    /// which MySQL must sort. Either way a total order (id is unique), so pages never overlap.
    /// </summary>
    public static SortPlan Sort(TableColumn column, string direction, IReadOnlyList<TableColumn> columns, IReadOnlyList<TableIndex> indexes)
    {
        var descending = direction == "DESC";
        var id = columns.First(c => c.Name == "id");
        if (column.Name == "id") return new SortPlan([id], descending, "PRIMARY");
        var best = indexes
            .Where(i => i.Columns[0] == column.Name)
            .Select(i => (i.Name, i.Unique, Keys: i.Columns.TakeWhile(c => c != "id").Select(c => columns.FirstOrDefault(t => t.Name == c)).ToList()))
            .Where(i => i.Keys.All(k => k is not null && !Hidden.Contains(k.Name)))
            .OrderBy(i => i.Keys.Count).ThenBy(i => i.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Name is null
            ? new SortPlan([column, id], descending, null)
            : new SortPlan([.. best.Keys.Select(k => k!), id], descending, best.Name, best.Unique);
    }

    public static string SelectList(IReadOnlyList<TableColumn> columns) =>
        string.Join(", ", columns.Where(c => !Hidden.Contains(c.Name)).Select(c => "t." + ColumnNames.Quote(c.Name)));
}
