using System.Security.Claims;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

public static class ListChannels
{
    public sealed record Query(PageRequest Paging, Caller Caller) : IQuery<Paged<ChannelView>>;

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => this.RuleForPaging(q => q.Paging);
    }

    /// <summary>The caller's channels; an admin sees everyone's.</summary>
    public sealed class Handler(ChannelStore channels) : IQueryHandler<Query, Paged<ChannelView>>
    {
        public async ValueTask<Paged<ChannelView>> Handle(Query query, CancellationToken ct)
        {
            var (rows, total) = await channels.ListAsync(query.Caller, query.Paging, ct);
            return Paged<ChannelView>.Of(rows.Select(r => r.ToView()).ToList(), total, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<ChannelView>>>> Endpoint([AsParameters] PageParameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<ChannelView>>.Success(await mediator.Send(new Query(p.ToRequest(), Caller.Of(user)), ct)));
}
