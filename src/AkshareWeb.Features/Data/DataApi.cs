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

        // A table's backfill is a download of its script's missing days: the engine's plan is built here, not in Tables.
        routes.MapGroup("/api/tables").WithTags("Tables").RequireAuthorization()
            .MapPost("/{tableName}/backfill", BackfillTable.Endpoint).WithName("BackfillTable")
            .WithDescription("Starts one parted run of the data script that writes the table, asking only for the days GET /api/tables/{table_name}/coverage finds missing "
                + "(confirmed-empty days are not missing): one part per missing range of each key, ranges at most 3 trading days apart merged into one call, the key's own values "
                + "(symbol, period, adjust) for the script's key parameters. All optional: from and to (YYYY-MM-DD) bound the days as in coverage; keys names keys by some of their key "
                + "columns ([{\"股票代码\": \"000001\"}]), every key with gaps when absent. Answers {execution_id, parts_total}; {null, 0} when nothing is missing. "
                + "Once the run has ended, the days of each completed part's range that are still missing were answered with no row and are marked confirmed empty. "
                + "Runs as a download (the ad-hoc queue, the user's quota: 429). A table no active script writes, a script without start and end dates, or a key column no parameter sets is a 422 that says so.")
            .ProducesErrors(400, 401, 404, 422, 429);
        return routes;
    }
}
