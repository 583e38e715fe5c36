using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Calendar;

public static class CalendarApi
{
    public static IEndpointRouteBuilder MapCalendarApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/calendar").WithTags("Calendar").RequireAuthorization();
        group.MapGet("/trading-days", GetTradingDays.Endpoint).WithName("GetTradingDays")
            .WithDescription("The SSE/SZSE trading days from `from` to `to` (YYYY-MM-DD, both included; default the whole calendar). " +
                "source is akshare:tool_trade_date_hist_sina once a run of that data script has replaced the bundled snapshot, which is derived from public holidays and exchange closures. " +
                "A range past the calendar's last day is answered as far as the calendar goes, with past_calendar_end true.")
            .ProducesErrors(401, 422);
        return routes;
    }
}
