using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

public static class GetTable
{
    public sealed record Query(string TableName) : IQuery<TableDetail>;

    public sealed record SchemaInfo(IReadOnlyList<TableColumn> Columns);

    /// <summary>row_count here is exact (COUNT(*)); size_bytes is InnoDB's figure; coverage is the table's coverage
    /// summary against the trading calendar (computed after each run and kept while the table is unchanged), null when
    /// its key has no date; health is its health findings per rule as of its last check (GET /api/tables/{table}/health),
    /// null when it was never checked (a table without a date in its key or without bars never is).</summary>
    public sealed record TableDetail(string TableName, string DisplayName, string? Category, long RowCount, long SizeBytes, SchemaInfo SchemaInfo,
        DateTime? LastUpdatedAt, string? ScriptId, string? InterfaceName, string? WriteMode, CoverageSummary? Coverage, TableHealthSummary? Health);

    public sealed class Handler(ManagedTables tables, WarehouseTables registry, WarehouseDatabase warehouse, CoverageSummaries coverage, TableHealth health)
        : IQueryHandler<Query, TableDetail>
    {
        public async ValueTask<TableDetail> Handle(Query query, CancellationToken ct)
        {
            var (table, columns, _) = await tables.ResolveAsync(query.TableName, ct);
            var meta = await registry.FindAsync(table, ct) ?? throw ApiError.NotFound("table");
            await using var connection = await warehouse.OpenAsync(ct);
            var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(table)}", cancellationToken: ct));
            var size = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table", new { table }, cancellationToken: ct));
            var covered = await coverage.GetAsync(table, meta.LastUpdatedAt, ct);
            var checkedHealth = await health.SummaryAsync(table, meta.LastUpdatedAt, ct);
            return new TableDetail(table, meta.DisplayName, meta.Category, count, size ?? 0, new SchemaInfo(columns), meta.LastUpdatedAt, meta.ScriptId,
                meta.InterfaceName, meta.WriteMode, covered, checkedHealth);
        }
    }

    internal static async Task<Ok<Envelope<TableDetail>>> Endpoint(string tableName, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TableDetail>.Success(await mediator.Send(new Query(tableName), ct)));
}
