using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Features.Data;

public static class GetDownloadStatus
{
    public sealed record Query(string ExecutionId, Caller Caller) : IQuery<DownloadStatus>;

    /// <summary>progress 0-100 follows the bytes read from AKTools while rows are written; rows_affected counts the
    /// rows written so far (inserted + updated).</summary>
    public sealed record DownloadStatus(string ExecutionId, string Status, int Progress, long RowsAffected, long RowsFetched, string? ErrorMessage);

    public sealed class Handler(ExecutionReads executions) : IQueryHandler<Query, DownloadStatus>
    {
        public async ValueTask<DownloadStatus> Handle(Query query, CancellationToken ct)
        {
            var e = await executions.FindAsync(query.ExecutionId, query.Caller, ct) ?? throw ApiError.NotFound("execution");
            return new DownloadStatus(e.ExecutionId, e.Status, e.Progress, e.RowsAffected ?? 0, e.RowsFetched ?? 0, e.ErrorMessage);
        }
    }

    internal static async Task<Ok<Envelope<DownloadStatus>>> Endpoint(string executionId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<DownloadStatus>.Success(await mediator.Send(new Query(executionId, Caller.Of(user)), ct)));
}
