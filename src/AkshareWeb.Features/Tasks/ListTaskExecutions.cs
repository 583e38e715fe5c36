using System.Security.Claims;
using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Features.Tasks;

public static class ListTaskExecutions
{
    public sealed record Query(long TaskId, PageRequest Paging, string? Status, Caller Caller) : IQuery<Paged<ExecutionView>>;

    public sealed class Parameters : PageParameters
    {
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

    /// <summary>Every execution of a task the caller may see, whoever started each one.</summary>
    public sealed class Handler(TaskStore tasks, ExecutionReads executions) : IQueryHandler<Query, Paged<ExecutionView>>
    {
        public async ValueTask<Paged<ExecutionView>> Handle(Query query, CancellationToken ct)
        {
            TaskStore.Visible(await tasks.FindAsync(query.TaskId, ct), query.Caller);
            return await executions.ListAsync(null, query.TaskId, query.Status, query.Paging, ct);
        }
    }

    internal static async Task<Ok<Envelope<Paged<ExecutionView>>>> Endpoint(long taskId, [AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<ExecutionView>>.Success(await mediator.Send(
            new Query(taskId, p.ToRequest(), p.Status, Caller.Of(user)), ct)));
}
