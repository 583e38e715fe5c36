using Hangfire;
using Hangfire.Storage;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

public static class GetSchedulerStatus
{
    public sealed record Query : IQuery<Status>;

    /// <summary>
    /// From Hangfire's own state in the database. <c>running</c>: a server of any instance has sent a heartbeat
    /// in the last minute. <c>active_jobs</c>: the recurring schedules (one per active task).
    /// </summary>
    public sealed record Status(bool Running, int ActiveJobs, DateTime? NextRunTime, int Servers, long ProcessingJobs, long EnqueuedJobs, long ScheduledJobs);

    public sealed class Handler(JobStorage storage, TimeProvider time) : IQueryHandler<Query, Status>
    {
        public ValueTask<Status> Handle(Query query, CancellationToken ct)
        {
            try
            {
                var monitoring = storage.GetMonitoringApi();
                var now = time.GetUtcNow().UtcDateTime;
                var servers = monitoring.Servers();
                var statistics = monitoring.GetStatistics();
                using var connection = storage.GetConnection();
                var recurring = connection.GetRecurringJobs();
                var next = recurring.Where(r => r.NextExecution is not null).Select(r => r.NextExecution).Min();
                return ValueTask.FromResult(new Status(
                    servers.Any(s => s.Heartbeat is { } beat && now - beat < TimeSpan.FromMinutes(1)),
                    recurring.Count,
                    next is null ? null : DateTime.SpecifyKind(next.Value, DateTimeKind.Utc),
                    servers.Count,
                    statistics.Processing,
                    statistics.Enqueued,
                    statistics.Scheduled));
            }
            catch (Exception e) when (e is MySqlConnector.MySqlException or InvalidOperationException)
            {
                throw ApiError.Scheduler("cannot read the scheduler state", e.Message);
            }
        }
    }

    internal static async Task<Ok<Envelope<Status>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Status>.Success(await mediator.Send(new Query(), ct)));
}
