using System.Security.Claims;
using System.Text.Json;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class ListExecutionParts
{
    /// <summary>One part of a parted execution: the values it varies (its since_last date once it started), how it went.</summary>
    public sealed record PartView(
        int PartNo, JsonElement Parameters, string Status, int Tries, long? RowsFetched, long? RowsWritten, string? ErrorMessage,
        DateTime? StartTime, DateTime? EndTime, string? Worker);

    public sealed record Query(string ExecutionId, PageRequest Paging, string? Status, Caller Caller) : IQuery<Paged<PartView>>;

    public sealed class Parameters : PageParameters
    {
        /// <summary>pending, running, completed, failed or cancelled.</summary>
        [FromQuery(Name = "status")] public string? Status { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            RuleFor(q => q.Status).Must(s => s is null || PartStatuses.All.Contains(s))
                .WithMessage("status must be one of pending, running, completed, failed, cancelled");
        }
    }

    /// <summary>The parts in their order; a run without parameter sources has none (an empty page).</summary>
    public sealed class Handler(Database database, ExecutionStore executions) : IQueryHandler<Query, Paged<PartView>>
    {
        public async ValueTask<Paged<PartView>> Handle(Query query, CancellationToken ct)
        {
            var execution = await executions.FindAsync(query.ExecutionId, query.Caller, ct) ?? throw ApiError.NotFound("execution");
            await using var connection = await database.OpenAsync(ct);
            var where = "WHERE execution_id = @executionId" + (query.Status is null ? "" : " AND status = @status");
            var args = new { executionId = execution.ExecutionId, status = query.Status, limit = query.Paging.PageSize, offset = query.Paging.Offset };
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM execution_parts {where}", args, cancellationToken: ct));
            var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
                SELECT part_no AS PartNo, CAST(parameters AS CHAR) AS Parameters, status AS Status, tries AS Tries, rows_fetched AS RowsFetched,
                  rows_written AS RowsWritten, error_message AS ErrorMessage, start_time AS StartTime, end_time AS EndTime, worker AS Worker
                FROM execution_parts {where} ORDER BY part_no LIMIT @limit OFFSET @offset
                """, args, cancellationToken: ct));
            return Paged<PartView>.Of(rows.Select(r => r.ToView()).ToList(), total, query.Paging);
        }
    }

    private sealed record Row(int PartNo, string Parameters, string Status, int Tries, long? RowsFetched, long? RowsWritten, string? ErrorMessage,
        DateTime? StartTime, DateTime? EndTime, string? Worker)
    {
        public PartView ToView()
        {
            using var document = JsonDocument.Parse(Parameters);
            return new PartView(PartNo, document.RootElement.Clone(), Status, Tries, RowsFetched, RowsWritten, ErrorMessage, StartTime, EndTime, Worker);
        }
    }

    internal static async Task<Ok<Envelope<Paged<PartView>>>> Endpoint(string executionId, [AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<PartView>>.Success(await mediator.Send(new Query(executionId, p.ToRequest(), p.Status, Caller.Of(user)), ct)));
}
