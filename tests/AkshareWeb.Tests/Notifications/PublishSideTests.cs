using AkshareWeb.Features.Notifications;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Notifications;

/// <summary>
/// The one-call publish side later work raises site_paused and table_gaps with: who hears each, and a pause told once
/// however often it is raised.
/// </summary>
public sealed class PublishSideTests(NotificationsApp app, NotificationReceiver receiver) : IClassFixture<NotificationsApp>, IClassFixture<NotificationReceiver>
{
    [Fact]
    public async Task A_site_pause_reaches_the_admins_everything_channels_once_and_table_gaps_also_the_tables_owner()
    {
        var (owner, _, _) = await app.NewUserAsync();
        var ownerId = (await (await owner.GetAsync("/api/auth/me")).ExpectAsync(200, 0))["data"]!["id"]!.GetValue<long>();
        var (other, _, _) = await app.NewUserAsync();
        var admin = await app.AdminAsync();
        await owner.WebhookAsync(receiver.BaseUrl + "/side/owner", ["site_paused", "table_gaps"]);
        await other.WebhookAsync(receiver.BaseUrl + "/side/other", ["site_paused", "table_gaps"]);
        await admin.WebhookAsync(receiver.BaseUrl + "/side/admins", ["site_paused", "table_gaps"], scope: "all");
        var notifier = app.Services.GetRequiredService<Notifier>();

        var until = new DateTime(2026, 12, 7, 12, 5, 0, DateTimeKind.Utc);
        await notifier.SitePausedAsync("eastmoney", "aktools.internal", until, 8, "AKTools answered HTTP 500", CancellationToken.None);
        await notifier.SitePausedAsync("eastmoney", "aktools.internal", until, 8, "AKTools answered HTTP 500", CancellationToken.None);
        var paused = Assert.Single(await receiver.WaitForAsync("/side/admins")).Json;
        Assert.Equal("site_paused", paused["event"]!.GetValue<string>());
        // Told in the market's time (Beijing, UTC+8).
        Assert.Equal("eastmoney paused until 20:05 after 8 failures in a row", paused["title"]!.GetValue<string>());
        Assert.Equal("eastmoney", paused["facts"]!["family"]!.GetValue<string>());

        await notifier.TableGapsAsync("ak_stock_zh_a_hist", "12 symbols miss 37 trading days", ["000001: 2026-12-01 … 2026-12-03"], "2026-12-07", ownerId, CancellationToken.None);
        var gaps = Assert.Single(await receiver.WaitForAsync("/side/owner")).Json;
        Assert.Equal("ak_stock_zh_a_hist: 12 symbols miss 37 trading days", gaps["title"]!.GetValue<string>());
        Assert.Equal(2, (await receiver.WaitForAsync("/side/admins", 2)).Count);

        await Task.Delay(1000);
        Assert.Equal(2, receiver.Received.Count(r => r.Path == "/side/admins"));
        Assert.Single(receiver.Received, r => r.Path == "/side/owner");
        Assert.DoesNotContain(receiver.Received, r => r.Path == "/side/other");
    }
}
