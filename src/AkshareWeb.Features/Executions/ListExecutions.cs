using System.Security.Claims;
using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class ListExecutions
{
    public sealed record Query(PageRequest Paging, long? TaskId, string? Status, Caller Caller) : IQuery<Paged<ExecutionView>>;

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "task_id")] public long? TaskId { get; init; }
        /// <summary>pending, running, completed, failed, cancelled or timeout.</summary>
        [FromQuery(Name = "status")] public string? Status { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            this.RuleForStatusFilter(q => q.Status, ExecutionStatuses.All);
        }
    }

    public sealed class Handler(ExecutionReads executions) : IQueryHandler<Query, Paged<ExecutionView>>
    {
        public async ValueTask<Paged<ExecutionView>> Handle(Query query, CancellationToken ct) =>
            await executions.ListAsync(query.Caller, query.TaskId, query.Status, query.Paging, ct);
    }

    internal static async Task<Ok<Envelope<Paged<ExecutionView>>>> Endpoint([AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<ExecutionView>>.Success(await mediator.Send(
            new Query(p.ToRequest(), p.TaskId, p.Status, Caller.Of(user)), ct)));
}
