using System.Net;
using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Settings;

public sealed class SchedulerTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task Scheduler_status_comes_from_the_real_hangfire_state()
    {
        var admin = await app.AdminAsync();
        var manager = app.Services.GetRequiredService<IRecurringJobManager>();
        manager.AddOrUpdate("scheduler-status-probe", () => Console.WriteLine("probe"), "0 3 * * *");
        try
        {
            var deadline = Deadline.In(20);
            System.Text.Json.Nodes.JsonNode status;
            do
            {
                status = (await (await admin.GetAsync("/api/settings/scheduler")).ExpectAsync(200, 0))["data"]!;
                if (status["running"]!.GetValue<bool>()) break;
                await Task.Delay(200);
            }
            while (!deadline.Passed);

            Assert.True(status["running"]!.GetValue<bool>());
            Assert.Equal(1, status["active_jobs"]!.GetValue<int>());
            var next = status["next_run_time"]!.GetValue<DateTime>().ToUniversalTime();
            Assert.Equal(3, next.Hour);
            Assert.Equal(0, next.Minute);
            Assert.True(next > DateTime.UtcNow && next <= DateTime.UtcNow.AddDays(1));
        }
        finally
        {
            manager.RemoveIfExists("scheduler-status-probe");
        }
    }

    [Fact]
    public async Task The_dashboard_is_for_admins_only_by_token_or_by_its_cookie()
    {
        await (await app.CreateClient().GetAsync("/hangfire")).ExpectAsync(401, 1001);
        var (user, _, _) = await app.NewUserAsync();
        await (await user.GetAsync("/hangfire")).ExpectAsync(403, 1003);
        await (await user.PostAsync("/api/auth/dashboard-session", null)).ExpectAsync(403, 1003);

        var admin = await app.AdminAsync();
        var page = await admin.GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("AkshareWeb jobs", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var recurring = await admin.GetAsync("/hangfire/recurring");
        Assert.Equal(HttpStatusCode.OK, recurring.StatusCode);

        // A browser: the cookie alone opens the dashboard, and only the dashboard.
        var session = await admin.PostAsync("/api/auth/dashboard-session", null);
        await session.ExpectAsync(200, 0);
        var cookie = session.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/hangfire", cookie, StringComparison.OrdinalIgnoreCase);
        var browser = app.CreateClient();
        browser.DefaultRequestHeaders.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/hangfire")).StatusCode);
        await (await browser.GetAsync("/api/auth/me")).ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task Scheduler_status_is_for_admins_only()
    {
        var (user, _, _) = await app.NewUserAsync();
        await (await user.GetAsync("/api/settings/scheduler")).ExpectAsync(403, 1003);
    }
}
