using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

public static class ListTables
{
    public sealed record Query(PageRequest Paging, string? Category) : IQuery<Paged<TableSummary>>;

    /// <summary>row_count and size_bytes come from information_schema.TABLES: InnoDB's estimates, cheap at any
    /// size (row_count_is_estimate says so); the exact count is the table data's total. coverage: the table's
    /// coverage summary against the trading calendar as last computed (after each run, in the background), null when
    /// its key has no date or while it is being computed.</summary>
    public sealed record TableSummary(string TableName, string DisplayName, string? Category, long RowCount, bool RowCountIsEstimate, long SizeBytes,
        DateTime? LastUpdatedAt, string? ScriptId, string? InterfaceName, string? WriteMode, CoverageSummary? Coverage);

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "category")] public string? Category { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => this.RuleForPaging(q => q.Paging);
    }

    public sealed class Handler(WarehouseTables registry, WarehouseDatabase warehouse, CoverageSummaries coverage) : IQueryHandler<Query, Paged<TableSummary>>
    {
        public async ValueTask<Paged<TableSummary>> Handle(Query query, CancellationToken ct)
        {
            await using var warehouseConnection = await warehouse.OpenAsync(ct);
            var stats = (await warehouseConnection.QueryAsync<(string Name, long? Rows, long? Size)>(new CommandDefinition("""
                SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'ak\_%'
                """, cancellationToken: ct))).ToDictionary(s => s.Name, StringComparer.Ordinal);

            var registered = (await registry.ListAsync(query.Category, ct)).Where(r => stats.ContainsKey(r.TableName)).ToList();
            var through = await coverage.ThroughAsync(ct);
            var items = registered.Skip(query.Paging.Offset).Take(query.Paging.PageSize)
                .Select(r => new TableSummary(r.TableName, r.DisplayName, r.Category, stats[r.TableName].Rows ?? 0, true, stats[r.TableName].Size ?? 0,
                    r.LastUpdatedAt, r.ScriptId, r.InterfaceName, r.WriteMode, coverage.Known(r.TableName, r.LastUpdatedAt, through)))
                .ToList();
            return Paged<TableSummary>.Of(items, registered.Count, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<TableSummary>>>> Endpoint([AsParameters] Parameters p, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<TableSummary>>.Success(await mediator.Send(new Query(p.ToRequest(), p.Category), ct)));
}
