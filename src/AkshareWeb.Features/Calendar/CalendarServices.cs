using Microsoft.Extensions.DependencyInjection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Calendar;

public static class CalendarServices
{
    /// <summary>The trading calendar, and its say over what a run of tool_trade_date_hist_sina may replace it with.</summary>
    public static IServiceCollection AddTradingCalendar(this IServiceCollection services)
    {
        services.AddSingleton<TradingCalendar>();
        services.AddSingleton<IReplacementCheck, CalendarAnswerCheck>();
        return services;
    }
}
