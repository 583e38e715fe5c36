using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class GetExecution
{
    public sealed record Query(string ExecutionId, ClaimsPrincipal Caller) : IQuery<ExecutionView>;

    public sealed class Handler(Database database) : IQueryHandler<Query, ExecutionView>
    {
        public async ValueTask<ExecutionView> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            return await ExecutionRecords.FindAsync(connection, query.ExecutionId, query.Caller, ct) ?? throw ApiError.NotFound("execution");
        }
    }

    internal static async Task<Ok<Envelope<ExecutionView>>> Endpoint(string executionId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<ExecutionView>.Success(await mediator.Send(new Query(executionId, user), ct)));
}
