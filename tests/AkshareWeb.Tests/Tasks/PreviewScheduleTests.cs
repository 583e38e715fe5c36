using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AkshareWeb.Tests.Tasks;

/// <summary>Friday 4 January 2030, 15:00 in Beijing (07:00 UTC): the clock every preview here is read against.</summary>
public sealed class FridayAfternoonApp : AkshareWebApp
{
    public static readonly DateTimeOffset Now = new(2030, 1, 4, 7, 0, 0, TimeSpan.Zero);

    public FridayAfternoonApp() => Clock = new FakeTimeProvider(Now);
}

public sealed class PreviewScheduleTests(FridayAfternoonApp app) : IClassFixture<FridayAfternoonApp>
{
    private async Task<string[]> FireTimesAsync(object body)
    {
        var (client, _, _) = await app.NewUserAsync();
        var answer = await (await client.PostAsJsonAsync("/api/tasks/preview-schedule", body)).ExpectAsync(200, 0);
        Assert.Equal("Asia/Shanghai", answer["data"]!["time_zone"]!.GetValue<string>());
        return answer["data"]!["fire_times"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
    }

    [Fact]
    public async Task A_weekday_cron_skips_the_weekend_in_beijing_time()
    {
        var times = await FireTimesAsync(new { schedule_type = "cron", schedule_expression = "0 16 * * 1-5" });
        Assert.Equal(
            ["2030-01-04T16:00:00+08:00", "2030-01-07T16:00:00+08:00", "2030-01-08T16:00:00+08:00", "2030-01-09T16:00:00+08:00", "2030-01-10T16:00:00+08:00"],
            times);
    }

    [Fact]
    public async Task A_cron_time_already_past_today_starts_tomorrow_and_count_is_honoured()
    {
        var times = await FireTimesAsync(new { schedule_type = "cron", schedule_expression = "30 9 * * *", count = 2 });
        Assert.Equal(["2030-01-05T09:30:00+08:00", "2030-01-06T09:30:00+08:00"], times);
    }

    [Fact]
    public async Task An_interval_counts_from_now_and_a_once_schedule_fires_once()
    {
        Assert.Equal(
            ["2030-01-04T16:30:00+08:00", "2030-01-04T18:00:00+08:00", "2030-01-04T19:30:00+08:00"],
            await FireTimesAsync(new { schedule_type = "interval", schedule_expression = "5400", count = 3 }));
        // Without an offset a once schedule is Beijing time; with one it is converted.
        Assert.Equal(["2030-02-01T09:00:00+08:00"], await FireTimesAsync(new { schedule_type = "once", schedule_expression = "2030-02-01T09:00:00" }));
        Assert.Equal(["2030-02-01T09:00:00+08:00"], await FireTimesAsync(new { schedule_type = "once", schedule_expression = "2030-02-01T01:00:00Z" }));
    }

    [Theory]
    [InlineData("cron", "0 16 * *", "schedule_expression", "5 fields")]
    [InlineData("cron", "0 25 * * *", "schedule_expression", "invalid cron expression")]
    [InlineData("interval", "30", "schedule_expression", "at least 60 seconds")]
    [InlineData("once", "2029-12-31T09:00:00+08:00", "schedule_expression", "in the future")]
    [InlineData("hourly", "0", "schedule_type", "cron, interval or once")]
    public async Task A_schedule_the_task_editor_would_refuse_is_a_422_naming_the_field(string type, string expression, string field, string words)
    {
        var (client, _, _) = await app.NewUserAsync();
        var body = await (await client.PostAsJsonAsync("/api/tasks/preview-schedule", new { schedule_type = type, schedule_expression = expression }))
            .ExpectAsync(422, 3001);
        var error = Assert.Single(body["detail"]!.AsArray());
        Assert.Equal(field, error!["field"]!.GetValue<string>());
        Assert.Contains(words, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task At_most_twenty_times_and_only_for_signed_in_users()
    {
        var (client, _, _) = await app.NewUserAsync();
        await (await client.PostAsJsonAsync("/api/tasks/preview-schedule", new { schedule_type = "cron", schedule_expression = "* * * * *", count = 21 }))
            .ExpectAsync(422, 3001);
        await (await app.CreateClient().PostAsJsonAsync("/api/tasks/preview-schedule", new { schedule_type = "cron", schedule_expression = "* * * * *" }))
            .ExpectAsync(401, 1001);
    }

    [Fact]
    public async Task Previewing_saves_nothing()
    {
        var (client, _, _) = await app.NewUserAsync();
        await (await client.PostAsJsonAsync("/api/tasks/preview-schedule", new { schedule_type = "cron", schedule_expression = "0 16 * * 1-5" })).ExpectAsync(200, 0);
        var tasks = await (await client.GetAsync("/api/tasks")).ExpectAsync(200, 0);
        Assert.Equal(0, tasks["data"]!["total"]!.GetValue<long>());
    }
}
