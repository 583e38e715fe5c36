using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

public static class SettingsApi
{
    public static IEndpointRouteBuilder MapSettingsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/settings").WithTags("Settings").RequireAuthorization(Roles.AdminPolicy);
        group.MapGet("/", GetSettings.Endpoint).WithName("GetSettings").ProducesErrors(401, 403);
        group.MapPut("/", UpdateSettings.Endpoint).WithName("UpdateSettings").ProducesErrors(400, 401, 403, 422);
        group.MapGet("/database", GetDatabaseSettings.Endpoint).WithName("GetDatabaseSettings").ProducesErrors(401, 403);
        group.MapPut("/database", UpdateDatabaseSettings.Endpoint).WithName("UpdateDatabaseSettings")
            .WithDescription("Tests the connection first (5 s time-out) and stores it only when it answers; the password is stored encrypted and never returned.")
            .ProducesErrors(400, 401, 403, 422);
        group.MapPost("/database/test", TestDatabaseConnection.Endpoint).WithName("TestDatabaseConnection").ProducesErrors(400, 401, 403, 422);
        group.MapGet("/scheduler", GetSchedulerStatus.Endpoint).WithName("GetSchedulerStatus").ProducesErrors(401, 403);
        return routes;
    }
}
