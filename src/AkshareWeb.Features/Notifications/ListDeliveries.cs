using System.Security.Claims;
using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

/// <summary>
/// A delivery as the API shows it: the event, the channel, how it went (<c>attempts</c>, <c>last_error</c>, when it is
/// due again while pending) and, for one held back by the per-minute cap, the summary delivery that carried it.
/// </summary>
public sealed record DeliveryView(
    long Id, string Event, string Title, long ChannelId, string ChannelName, string ChannelType, string Status, int Attempts, string? LastError,
    DateTime CreatedAt, DateTime? LastAttemptAt, DateTime? NextAttemptAt, DateTime? SentAt, long? SummaryId);

public static class ListDeliveries
{
    public sealed record Query(PageRequest Paging, long? ChannelId, string? Event, string? Status, Caller Caller) : IQuery<Paged<DeliveryView>>;

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "channel_id")] public long? ChannelId { get; init; }
        [FromQuery(Name = "event")] public string? Event { get; init; }
        [FromQuery(Name = "status")] public string? Status { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            this.RuleForStatusFilter(q => q.Status, DeliveryStatuses.All);
            RuleFor(q => q.Event).Must(e => e is null || NotificationEvents.Delivered.Contains(e))
                .WithMessage("event must be one of " + string.Join(", ", NotificationEvents.Delivered));
        }
    }

    /// <summary>Deliveries to the caller's channels, newest first; an admin sees every channel's.</summary>
    public sealed class Handler(Database database) : IQueryHandler<Query, Paged<DeliveryView>>
    {
        private const string From = """
            FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id JOIN notification_channels c ON c.id = d.channel_id
            """;

        public async ValueTask<Paged<DeliveryView>> Handle(Query query, CancellationToken ct)
        {
            var where = new StringBuilder("WHERE 1 = 1");
            if (!query.Caller.IsAdmin) where.Append(" AND c.user_id = @callerId");
            if (query.ChannelId is not null) where.Append(" AND d.channel_id = @ChannelId");
            if (query.Event is not null) where.Append(" AND e.event = @Event");
            if (query.Status is not null) where.Append(" AND d.status = @Status");
            var args = new { callerId = query.Caller.Id, query.ChannelId, query.Event, query.Status, limit = query.Paging.PageSize, offset = query.Paging.Offset };
            await using var connection = await database.OpenAsync(ct);
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) {From} {where}", args, cancellationToken: ct));
            var items = await connection.QueryAsync<DeliveryView>(new CommandDefinition($"""
                SELECT d.id AS Id, e.event AS Event, e.title AS Title, d.channel_id AS ChannelId, c.name AS ChannelName, c.type AS ChannelType,
                  d.status AS Status, d.attempts AS Attempts, d.last_error AS LastError, d.created_at AS CreatedAt, d.last_attempt_at AS LastAttemptAt,
                  IF(d.status = 'pending', d.next_attempt_at, NULL) AS NextAttemptAt, d.sent_at AS SentAt, d.summary_id AS SummaryId
                {From} {where} ORDER BY d.id DESC LIMIT @limit OFFSET @offset
                """, args, cancellationToken: ct));
            return Paged<DeliveryView>.Of(items.AsList(), total, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<DeliveryView>>>> Endpoint([AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<DeliveryView>>.Success(await mediator.Send(
            new Query(p.ToRequest(), p.ChannelId, p.Event, p.Status, Caller.Of(user)), ct)));
}
