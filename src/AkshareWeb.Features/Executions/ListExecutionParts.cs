using System.Security.Claims;
using System.Text.Json;
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
            this.RuleForStatusFilter(q => q.Status, PartStatuses.All);
        }
    }

    /// <summary>The parts in their order; a run without parameter sources has none (an empty page).</summary>
    public sealed class Handler(ExecutionReads executions, PartStore parts) : IQueryHandler<Query, Paged<PartView>>
    {
        public async ValueTask<Paged<PartView>> Handle(Query query, CancellationToken ct)
        {
            var execution = await executions.FindAsync(query.ExecutionId, query.Caller, ct) ?? throw ApiError.NotFound("execution");
            var page = await parts.ListAsync(execution.ExecutionId, query.Status, query.Paging, ct);
            return new Paged<PartView>([.. page.Items.Select(View)], page.Total, page.Page, page.PageSize, page.TotalPages);
        }

        private static PartView View(ExecutionPart part)
        {
            using var document = JsonDocument.Parse(part.Parameters);
            return new PartView(part.PartNo, document.RootElement.Clone(), part.Status, part.Tries, part.RowsFetched, part.RowsWritten, part.ErrorMessage,
                part.StartTime, part.EndTime, part.Worker);
        }
    }

    internal static async Task<Ok<Envelope<Paged<PartView>>>> Endpoint(string executionId, [AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<PartView>>.Success(await mediator.Send(new Query(executionId, p.ToRequest(), p.Status, Caller.Of(user)), ct)));
}
