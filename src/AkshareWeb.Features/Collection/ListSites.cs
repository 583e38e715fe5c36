using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Collection;

public static class ListSites
{
    public sealed record Query : IQuery<IReadOnlyList<SiteState>>;

    /// <summary>
    /// Each upstream site family behind the configured AKTools host: <c>state</c> is ok, paused (no call leaves
    /// until paused_until), probing (the cool-down is over; one call tests the site) or recovering (resumed after a
    /// pause, at rate_share of its configured rate, climbing back with each success); rate_limit is the configured
    /// calls per second (0: no limit), effective_rate what is allowed now.
    /// </summary>
    public sealed class Handler(SitePauses pauses) : IQueryHandler<Query, IReadOnlyList<SiteState>>
    {
        public async ValueTask<IReadOnlyList<SiteState>> Handle(Query query, CancellationToken ct) => await pauses.ListAsync(ct);
    }

    internal static async Task<Ok<Envelope<IReadOnlyList<SiteState>>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<IReadOnlyList<SiteState>>.Success(await mediator.Send(new Query(), ct)));
}
