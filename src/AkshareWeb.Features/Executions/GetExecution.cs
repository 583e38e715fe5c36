using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class GetExecution
{
    public sealed record Query(string ExecutionId, Caller Caller) : IQuery<ExecutionView>;

    public sealed class Handler(ExecutionReads executions) : IQueryHandler<Query, ExecutionView>
    {
        public async ValueTask<ExecutionView> Handle(Query query, CancellationToken ct) =>
            await executions.FindAsync(query.ExecutionId, query.Caller, ct) ?? throw ApiError.NotFound("execution");
    }

    internal static async Task<Ok<Envelope<ExecutionView>>> Endpoint(string executionId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<ExecutionView>.Success(await mediator.Send(new Query(executionId, Caller.Of(user)), ct)));
}
