using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Data;

public static class DataApi
{
    public static IEndpointRouteBuilder MapDataApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/data").WithTags("Data").RequireAuthorization();
        group.MapPost("/download", DownloadData.Endpoint).WithName("DownloadData")
            .WithDescription("Starts a download of one interface into ak_<interface>, named by exactly one of interface_id, interface_name (the AKShare function, "
                + "e.g. stock_zh_a_hist) or script_id (a data script, run once into its own table with its defaults); none or two is a 422 naming them, an unknown one a 404. "
                + "Parameters are checked against the interface's definition (422 names the parameter). "
                + "Runs on the ad-hoc queue; an ordinary user has at most user_max_running_jobs downloads and script tests pending or running (429 naming the quota).")
            .ProducesErrors(400, 401, 404, 422, 429);
        group.MapGet("/download/{executionId}/status", GetDownloadStatus.Endpoint).WithName("GetDownloadStatus").ProducesErrors(401, 404);
        group.MapGet("/download/{executionId}/result", GetDownloadResult.Endpoint).WithName("GetDownloadResult").ProducesErrors(401, 404);
        return routes;
    }
}
