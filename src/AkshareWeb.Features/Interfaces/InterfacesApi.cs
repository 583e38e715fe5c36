using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Interfaces;

public static class InterfacesApi
{
    public static IEndpointRouteBuilder MapInterfacesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/interfaces").WithTags("Interfaces").RequireAuthorization();
        group.MapGet("/", ListInterfaces.Endpoint).WithName("ListInterfaces").ProducesErrors(400, 401, 422);
        group.MapGet("/categories", GetInterfaceCategories.Endpoint).WithName("GetInterfaceCategories").ProducesErrors(401);
        group.MapPost("/sync", SyncInterfaces.Endpoint).RequireAuthorization(Roles.AdminPolicy).WithName("SyncInterfaces")
            .WithDescription("Admins: imports AKShare's registry (akshare/data/interfaces.json) from Catalog:RegistryPath or Catalog:RegistryUrl and reports added, updated and removed interfaces.")
            .ProducesErrors(400, 401, 403, 502);
        group.MapGet("/{interfaceId:long}", GetInterface.Endpoint).WithName("GetInterface").ProducesErrors(401, 404);
        group.MapGet("/{interfaceId:long}/parameters", GetInterfaceParameters.Endpoint).WithName("GetInterfaceParameters").ProducesErrors(401, 404);
        return routes;
    }
}
