using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Scripts;

namespace AkshareWeb.Features.Tasks;

/// <summary>Configuration section <c>Calendar</c>.</summary>
public sealed class CalendarTaskOptions
{
    public const string Section = "Calendar";

    /// <summary>Create the weekly tool_trade_date_hist_sina task on the first start against a database (once: a deleted
    /// one is not created again).</summary>
    public bool WeeklyTask { get; set; } = true;

    /// <summary>Its schedule (cron, market time): Saturday 09:00, when no market is open.</summary>
    public string Schedule { get; set; } = "0 9 * * 6";
}

/// <summary>
/// The task that keeps the trading calendar current: tool_trade_date_hist_sina every week, owned by the first
/// administrator, created once per database at start. Without it the bundled calendar would end with its last year,
/// and from then on no day would ever count as missing; Sina publishes the next year late in December, so a weekly
/// run picks it up within days. Made once (table starter_tasks): an owner who deletes or pauses it keeps it that way.
/// </summary>
public sealed class CalendarTask(Database database, DataScriptLibrary scripts, ScheduleRegistrar scheduler, MarketTime market, TimeProvider time,
    IOptions<CalendarTaskOptions> options, ILogger<CalendarTask> logger)
{
    public const string StarterName = "trading_calendar_weekly";

    public async Task EnsureAsync(CancellationToken ct)
    {
        if (!options.Value.WeeklyTask) return;
        await using var connection = await database.OpenAsync(ct);
        if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM starter_tasks WHERE name = @StarterName", new { StarterName }, cancellationToken: ct)) > 0) return;
        var scriptRegistered = await scripts.IsActiveAsync(TradingCalendar.ScriptId, ct);
        var owner = await UserAccounts.FirstActiveAdminAsync(connection, ct);
        if (!scriptRegistered || owner is null)
        {
            // Tried again at the next start: the library may have the script by then.
            logger.LogWarning("The weekly trading-calendar task was not created: {Reason}",
                scriptRegistered ? "there is no active administrator to own it" : $"the data script {TradingCalendar.ScriptId} is not registered");
            return;
        }

        var now = time.GetUtcNow().UtcDateTime;
        if (ScheduleRules.Problem(ScheduleTypes.Cron, options.Value.Schedule, now, 0, market.Zone) is { } problem)
        {
            logger.LogWarning("The weekly trading-calendar task was not created: Calendar:Schedule {Schedule}: {Problem}", options.Value.Schedule, problem);
            return;
        }

        // The claim first: of two instances starting together, one creates the task.
        if (await connection.ExecuteAsync(new CommandDefinition(
                "INSERT IGNORE INTO starter_tasks (name, created_at) VALUES (@StarterName, @now)", new { StarterName, now }, cancellationToken: ct)) == 0) return;
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO scheduled_tasks (name, description, script_id, schedule_type, schedule_expression, time_zone, parameters,
              is_active, retry_on_failure, max_retries, owner_id, created_at, updated_at)
            VALUES (@name, @description, @ScriptId, 'cron', @schedule, @zone, '{}', 1, 1, 3, @owner, @now, @now);
            SELECT LAST_INSERT_ID();
            """, new
        {
            name = "交易日历（新浪，每周更新）",
            description = "Keeps the SSE/SZSE trading calendar (GET /api/calendar/trading-days) current: each run replaces it with Sina's whole list. " +
                "Created by the service on its first start; coverage counts no day past the calendar's end.",
            TradingCalendar.ScriptId,
            schedule = options.Value.Schedule,
            zone = market.ZoneId,
            owner,
            now,
        }, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE starter_tasks SET task_id = @id WHERE name = @StarterName", new { id, StarterName }, cancellationToken: ct));
        var task = (await TaskStore.FindAsync(connection, null, id, false, ct))!;
        await scheduler.ApplyAsync(connection, task, ct);
        logger.LogInformation("Created task {TaskId}: {Script} every week ({Schedule}), owned by administrator {Owner}", id, TradingCalendar.ScriptId, options.Value.Schedule, owner);
    }
}
