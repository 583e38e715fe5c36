using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class GetExecutionStats
{
    public sealed record Query(Caller Caller) : IQuery<Stats>;

    /// <summary>success_rate: completed runs as a percentage of finished ones (completed, failed, timeout,
    /// cancelled), one decimal; 0 when none has finished.</summary>
    public sealed record Stats(long TotalCount, long SuccessCount, long FailedCount, long RunningCount, long PendingCount,
        long CancelledCount, long TimeoutCount, double SuccessRate);

    public sealed class Handler(ExecutionReads executions) : IQueryHandler<Query, Stats>
    {
        public async ValueTask<Stats> Handle(Query query, CancellationToken ct)
        {
            var counts = await executions.CountByStatusAsync(query.Caller, ct);
            long Of(string status) => counts.GetValueOrDefault(status);
            var finished = ExecutionStatuses.Finished.Sum(Of);
            return new Stats(counts.Values.Sum(), Of(ExecutionStatuses.Completed), Of(ExecutionStatuses.Failed), Of(ExecutionStatuses.Running),
                Of(ExecutionStatuses.Pending), Of(ExecutionStatuses.Cancelled), Of(ExecutionStatuses.Timeout),
                finished == 0 ? 0 : Math.Round(100.0 * Of(ExecutionStatuses.Completed) / finished, 1));
        }
    }

    internal static async Task<Ok<Envelope<Stats>>> Endpoint(ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Stats>.Success(await mediator.Send(new Query(Caller.Of(user)), ct)));
}
