using System.Security.Claims;
using System.Text.Json;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Features.Data;

public static class GetDownloadResult
{
    public sealed record Query(string ExecutionId, Caller Caller) : IQuery<DownloadResult>;

    public sealed record DownloadResult(string ExecutionId, string Status, long RowsAffected, long? RowsBefore, long? RowsAfter, string TableName,
        double? ExecutionTime, string? ErrorMessage, JsonElement? Result);

    public sealed class Handler(ExecutionReads executions) : IQueryHandler<Query, DownloadResult>
    {
        public async ValueTask<DownloadResult> Handle(Query query, CancellationToken ct)
        {
            var e = await executions.FindAsync(query.ExecutionId, query.Caller, ct) ?? throw ApiError.NotFound("execution");
            return new DownloadResult(e.ExecutionId, e.Status, e.RowsAffected ?? 0, e.RowsBefore, e.RowsAfter, e.TargetTable, e.ExecutionTime, e.ErrorMessage, e.Result);
        }
    }

    internal static async Task<Ok<Envelope<DownloadResult>>> Endpoint(string executionId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<DownloadResult>.Success(await mediator.Send(new Query(executionId, Caller.Of(user)), ct)));
}
