using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

public static class NotificationsApi
{
    public static IEndpointRouteBuilder MapNotificationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/notifications").WithTags("Notifications").RequireAuthorization();
        group.MapGet("/channels", ListChannels.Endpoint).WithName("ListChannels").ProducesErrors(400, 401, 422);
        group.MapPost("/channels", CreateChannel.Endpoint).WithName("CreateChannel")
            .WithDescription("type webhook (JSON, signed with X-AkshareWeb-Signature: sha256=<hex HMAC-SHA256 of the body> when a secret is set), dingtalk, wecom, feishu, slack "
                + "(each with url; dingtalk and feishu sign with their secret) or email (smtp). events: run_failed, task_failing, site_paused, instance_lost, table_gaps. "
                + "scope mine hears of the owner's tasks and downloads; all (admins only, else 403) of everything. A URL or SMTP host that resolves to an internal address is 422 "
                + "unless Notifications:AllowPrivateTargets. Secrets and passwords are stored encrypted and never returned.")
            .ProducesErrors(400, 401, 403, 422);
        group.MapPut("/channels/{channelId:long}", UpdateChannel.Endpoint).WithName("UpdateChannel")
            .WithDescription("Fields left out keep their value, url, secret and smtp.password too (an empty secret or password removes it).")
            .ProducesErrors(400, 401, 403, 404, 422);
        group.MapDelete("/channels/{channelId:long}", DeleteChannel.Endpoint).WithName("DeleteChannel").ProducesErrors(401, 404);
        group.MapPost("/channels/{channelId:long}/test", TestChannel.Endpoint).WithName("TestChannel")
            .WithDescription("Sends a test message now and says whether it arrived; counts toward Notifications:MaxPerChannelPerMinute (429 beyond).")
            .ProducesErrors(401, 404);
        group.MapGet("/deliveries", ListDeliveries.Endpoint).WithName("ListDeliveries").ProducesErrors(400, 401, 422);
        return routes;
    }
}
