using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Notifications;
using static AkshareWeb.Tests.Tables.CoverageApp;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// table_gaps as the admins' <c>all</c> channel receives it: the coverage check after each run of the engine on a
/// table tells new gaps, names the keys with their missing ranges, and says nothing of a run that adds none. The clock
/// is at 2024-06-14 16:00 Beijing time, after Friday's close.
/// </summary>
public sealed class TableGapsNoticeTests(TableGapsNoticeTests.App app, NotificationReceiver receiver)
    : IClassFixture<TableGapsNoticeTests.App>, IClassFixture<NotificationReceiver>
{
    public sealed class App : CoverageApp
    {
        public App() => NotificationKit.AllowLoopbackReceivers(Set);
    }

    [Fact]
    public async Task A_run_that_leaves_gaps_is_told_once_naming_the_keys_and_new_gaps_are_told_again()
    {
        var admin = await app.AdminAsync();
        await admin.WebhookAsync(receiver.BaseUrl + "/gaps/admins", ["table_gaps"], scope: "all");
        var (client, _, _) = await app.NewUserAsync();

        // Whole: nothing to tell.
        await app.CollectAsync(client, "600101", Trading("2024-05-27", "2024-06-14"));
        // 06-05 and 06-06 never came.
        await app.CollectAsync(client, "600102", Trading("2024-05-27", "2024-06-14", "2024-06-05", "2024-06-06"));
        var told = Assert.Single(await receiver.WaitForAsync("/gaps/admins")).Json;
        Assert.Equal("table_gaps", told["event"]!.GetValue<string>());
        Assert.Equal($"{Table}: 1 of 2 keys have gaps through 2024-06-14: 2 trading days missing", told["title"]!.GetValue<string>());
        var lines = told["lines"]!.AsArray().Select(l => l!.GetValue<string>()).ToList();
        Assert.Equal(["1 of 2 keys have gaps through 2024-06-14: 2 trading days missing", "股票代码=600102, period=daily: 2024-06-05..2024-06-06 (2 missing)"], lines);
        Assert.Equal(Table, told["facts"]!["table"]!.GetValue<string>());

        // The same days again: the same gaps, told before.
        await app.CollectAsync(client, "600102", Trading("2024-05-27", "2024-06-14", "2024-06-05", "2024-06-06"));
        // A symbol stopped on 06-12: new gaps, and a stale key.
        await app.CollectAsync(client, "600103", Trading("2024-05-27", "2024-06-12"));
        var both = await receiver.WaitForAsync("/gaps/admins", 2);
        var again = both[1].Json;
        Assert.Equal($"{Table}: 2 of 3 keys have gaps through 2024-06-14: 4 trading days missing, 1 stale", again["title"]!.GetValue<string>());
        Assert.Contains("股票代码=600103, period=daily: 2024-06-13..2024-06-14 (2 missing, stale)",
            again["lines"]!.AsArray().Select(l => l!.GetValue<string>()));

        await Task.Delay(1000);
        Assert.Equal(2, receiver.Received.Count(r => r.Path == "/gaps/admins"));
    }
}
