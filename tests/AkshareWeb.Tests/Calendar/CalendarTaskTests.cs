using AkshareWeb.Features.Calendar;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Calendar;

/// <summary>The calendar app as a fresh deployment starts it: the weekly calendar task on.</summary>
public sealed class CalendarTaskApp : CalendarApp
{
    public CalendarTaskApp() => Unset("Calendar:WeeklyTask");
}

public sealed class CalendarTaskTests(CalendarTaskApp app) : IClassFixture<CalendarTaskApp>
{
    [Fact]
    public async Task The_first_start_creates_the_weekly_calendar_task_once_for_the_first_admin()
    {
        var admin = await app.AdminAsync();
        var tasks = (await (await admin.GetAsync("/api/tasks/?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray()
            .Where(t => t!["script_id"]!.GetValue<string>() == TradingCalendar.ScriptId).ToList();
        var task = Assert.Single(tasks)!;
        Assert.Equal("cron", task["schedule_type"]!.GetValue<string>());
        Assert.Equal("0 9 * * 6", task["schedule_expression"]!.GetValue<string>());
        Assert.True(task["is_active"]!.GetValue<bool>());
        Assert.NotNull(task["next_execution_at"]);
        var me = (await (await admin.GetAsync("/api/auth/me")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(me["id"]!.GetValue<long>(), task["owner_id"]!.GetValue<long>());

        // Deleted by its owner, it stays deleted: another instance starting on the same database makes no new one.
        await (await admin.DeleteAsync($"/api/tasks/{task["id"]!.GetValue<long>()}")).ExpectAsync(200, 0);
        await using (var second = await app.SecondInstanceAsync())
        {
            _ = second.CreateClient();
        }

        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM scheduled_tasks WHERE script_id = @ScriptId", new { TradingCalendar.ScriptId }));
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM starter_tasks"));
    }
}
