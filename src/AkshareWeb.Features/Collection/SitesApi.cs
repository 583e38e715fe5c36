using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Collection;

public static class SitesApi
{
    /// <summary>Every signed-in user: a paused site is why their runs wait.</summary>
    public static IEndpointRouteBuilder MapSitesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/sites").WithTags("Sites").RequireAuthorization();
        group.MapGet("/", ListSites.Endpoint).WithName("ListSites")
            .WithDescription("The upstream site families behind the AKTools host: their state (ok, paused, probing, recovering), rate and last pause.")
            .ProducesErrors(401);
        return routes;
    }
}
