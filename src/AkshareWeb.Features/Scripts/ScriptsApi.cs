using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Scripts;

public static class ScriptsApi
{
    public static IEndpointRouteBuilder MapScriptsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/scripts").WithTags("Scripts").RequireAuthorization();
        group.MapGet("/", ListScripts.Endpoint).WithName("ListScripts").ProducesErrors(400, 401, 422);
        group.MapGet("/categories", GetScriptCategories.Endpoint).WithName("GetScriptCategories").ProducesErrors(401);
        group.MapPost("/scan", ScanScripts.Endpoint).RequireAuthorization(Roles.AdminPolicy).WithName("ScanScripts")
            .WithDescription("Admins: registers new files under data-scripts/, updates changed ones and deactivates scripts whose file is gone; a malformed file is reported in errors without stopping the scan.")
            .ProducesErrors(400, 401, 403);
        group.MapGet("/{scriptId}", GetScript.Endpoint).WithName("GetScript").ProducesErrors(401, 404);
        group.MapPost("/{scriptId}/test", TestScript.Endpoint).WithName("TestScript")
            .WithDescription("Runs the script once against AKTools without writing anything: rows_affected is the number of rows fetched. A failed fetch is a 502 with code 5003 saying what failed. "
                + "Counts against the user's user_max_running_jobs while it runs (429 naming the quota).")
            .ProducesErrors(400, 401, 404, 422, 429, 502);
        group.MapPatch("/{scriptId}/toggle", ToggleScript.Endpoint).RequireAuthorization(Roles.AdminPolicy).WithName("ToggleScript").ProducesErrors(401, 403, 404, 409);
        return routes;
    }
}
