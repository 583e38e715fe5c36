using AkshareWeb.Features.Notifications;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AkshareWeb.Tests.Notifications;

/// <summary>The app on a fake clock: at most 3 messages a channel a minute, retries after 30 s doubling, 3 tries.</summary>
public sealed class ClockedNotificationsApp : NotificationsApp
{
    public ClockedNotificationsApp()
    {
        Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        Set("Notifications:MaxPerChannelPerMinute", "3");
        Set("Notifications:RetryBaseSeconds", "30");
        Set("Notifications:MaxAttempts", "3");
        // The worker looks when something is queued here or when a test asks it to, never on its own.
        Set("Notifications:PollSeconds", "86400");
    }

    public FakeTimeProvider FakeClock => Clock!;

    /// <summary>
    /// Sends what is due now and waits until nothing is on its way. The worker woken by a publish may be claiming at
    /// the same moment (the test's own round then skips the channel it holds): taking every channel's lock once waits
    /// for such a claim to commit, after which its deliveries show as 'sending' until sent.
    /// </summary>
    public async Task SettleAsync()
    {
        await Services.GetRequiredService<DeliveryWorker>().SendDueAsync(CancellationToken.None);
        await using var db = await OpenDatabaseAsync();
        await using (var claims = await db.BeginTransactionAsync())
        {
            await db.ExecuteAsync("SELECT id FROM notification_channels FOR UPDATE", transaction: claims);
            await claims.RollbackAsync();
        }

        for (var i = 0; i < 400 && await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notification_deliveries WHERE status = 'sending'") > 0; i++)
        {
            await Task.Delay(50);
        }
    }

    public Task<int> PublishAsync(string key, long userId, string title) =>
        Services.GetRequiredService<Notifier>().PublishAsync(
            new Notice("run_failed", key, title, [title + ": AKTools answered 500"], new Dictionary<string, object?> { ["execution_id"] = key }, userId), CancellationToken.None);
}

/// <summary>
/// The queue on a fake clock: the per-minute cap with what it holds back summed up in one message, retries with
/// back-off until they succeed or give up, and a receiver's final "no" taken at once.
/// </summary>
public sealed class DeliveryTests(ClockedNotificationsApp app, NotificationReceiver receiver) : IClassFixture<ClockedNotificationsApp>, IClassFixture<NotificationReceiver>
{
    private async Task<(long UserId, HttpClient Client)> UserAsync()
    {
        var (client, _, _) = await app.NewUserAsync();
        var me = (await (await client.GetAsync("/api/auth/me")).ExpectAsync(200, 0))["data"]!;
        return (me["id"]!.GetValue<long>(), client);
    }

    [Fact]
    public async Task At_most_the_cap_leaves_a_minute_and_the_rest_goes_out_summed_up_in_one_message()
    {
        var (userId, client) = await UserAsync();
        await client.WebhookAsync(receiver.BaseUrl + "/cap", ["run_failed"]);
        for (var i = 1; i <= 3; i++) Assert.Equal(1, await app.PublishAsync($"cap-{i}", userId, $"run {i} failed"));
        await app.SettleAsync();
        Assert.Equal(["run 1 failed", "run 2 failed", "run 3 failed"], (await receiver.WaitForAsync("/cap", 3)).Select(r => r.Json["title"]!.GetValue<string>()).Order());

        for (var i = 4; i <= 8; i++) await app.PublishAsync($"cap-{i}", userId, $"run {i} failed");
        await app.SettleAsync();
        app.FakeClock.Advance(TimeSpan.FromSeconds(30));
        await app.SettleAsync();
        Assert.Equal(3, receiver.Received.Count(r => r.Path == "/cap"));
        Assert.Equal(5, (await client.DeliveriesAsync("&status=pending")).Count);

        // A minute after the first three, three more may go: two of the five, and one summing up the other three.
        app.FakeClock.Advance(TimeSpan.FromSeconds(31));
        await app.SettleAsync();
        var later = (await receiver.WaitForAsync("/cap", 6)).Skip(3).Select(r => r.Json).ToList();
        Assert.Equal(3, later.Count);
        Assert.Equal(["run 4 failed", "run 5 failed"], later.Where(m => m["event"]!.GetValue<string>() == "run_failed").Select(m => m["title"]!.GetValue<string>()).Order());
        var summary = Assert.Single(later, m => m["event"]!.GetValue<string>() == "summary");
        Assert.Equal("3 notifications held back by the limit of 3 a minute", summary["title"]!.GetValue<string>());
        Assert.Equal(["run_failed: run 6 failed", "run_failed: run 7 failed", "run_failed: run 8 failed"],
            summary["lines"]!.AsArray().Select(l => l!.GetValue<string>()));

        var deliveries = await client.DeliveriesAsync();
        var summaryId = Assert.Single(deliveries, d => d!["event"]!.GetValue<string>() == "summary")!;
        Assert.Equal("sent", summaryId["status"]!.GetValue<string>());
        var held = deliveries.Where(d => d!["status"]!.GetValue<string>() == "summarised").ToList();
        Assert.Equal(["run 6 failed", "run 7 failed", "run 8 failed"], held.Select(d => d!["title"]!.GetValue<string>()).Order());
        Assert.All(held, d => Assert.Equal(summaryId["id"]!.GetValue<long>(), d!["summary_id"]!.GetValue<long>()));
        Assert.Equal(5, deliveries.Count(d => d!["event"]!.GetValue<string>() == "run_failed" && d["status"]!.GetValue<string>() == "sent"));
    }

    [Fact]
    public async Task A_failed_send_is_retried_after_30_then_60_seconds_and_recorded()
    {
        var (userId, client) = await UserAsync();
        await using var own = await NotificationReceiver.StartAsync();
        own.Answer((context, n) => NotificationReceiver.WriteAsync(context, n <= 2 ? 500 : 200, "{}"));
        await client.WebhookAsync(own.BaseUrl + "/flaky", ["run_failed"]);

        await app.PublishAsync("retry-1", userId, "flaky run failed");
        await app.SettleAsync();
        var first = Assert.Single(await client.DeliveriesAsync())!;
        Assert.Equal("pending", first["status"]!.GetValue<string>());
        Assert.Equal(1, first["attempts"]!.GetValue<int>());
        Assert.Equal("HTTP 500", first["last_error"]!.GetValue<string>());
        Assert.Equal(app.FakeClock.GetUtcNow().UtcDateTime.AddSeconds(30), first["next_attempt_at"]!.GetValue<DateTime>(), TimeSpan.FromMilliseconds(5));

        app.FakeClock.Advance(TimeSpan.FromSeconds(29));
        await app.SettleAsync();
        Assert.Single(own.Received);
        app.FakeClock.Advance(TimeSpan.FromSeconds(1));
        await app.SettleAsync();
        Assert.Equal(2, own.Received.Count);
        Assert.Equal(2, (await client.DeliveriesAsync())[0]!["attempts"]!.GetValue<int>());

        app.FakeClock.Advance(TimeSpan.FromSeconds(59));
        await app.SettleAsync();
        Assert.Equal(2, own.Received.Count);
        app.FakeClock.Advance(TimeSpan.FromSeconds(1));
        await app.SettleAsync();
        var sent = Assert.Single(await client.DeliveriesAsync())!;
        Assert.Equal("sent", sent["status"]!.GetValue<string>());
        Assert.Equal(3, sent["attempts"]!.GetValue<int>());
        Assert.Equal("HTTP 500", sent["last_error"]!.GetValue<string>());
        Assert.Equal(3, own.Received.Count);
        Assert.Single(own.Received.Select(r => r.Json["delivery_id"]!.GetValue<long>()).Distinct());
    }

    [Fact]
    public async Task A_receiver_that_keeps_failing_is_given_up_after_the_last_try_and_a_404_at_once()
    {
        var (userId, client) = await UserAsync();
        await using var own = await NotificationReceiver.StartAsync();
        own.Answer((context, _) => NotificationReceiver.WriteAsync(context, context.Request.Path == "/gone" ? 404 : 503, "{}"));
        var down = await client.WebhookAsync(own.BaseUrl + "/down", ["run_failed"]);
        var gone = await client.WebhookAsync(own.BaseUrl + "/gone", ["run_failed"]);

        await app.PublishAsync("give-up-1", userId, "nobody hears this");
        await app.SettleAsync();
        foreach (var wait in new[] { 30, 60 })
        {
            app.FakeClock.Advance(TimeSpan.FromSeconds(wait));
            await app.SettleAsync();
        }

        var deliveries = await client.DeliveriesAsync();
        var toDown = Assert.Single(deliveries, d => d!["channel_id"]!.GetValue<long>() == down)!;
        Assert.Equal("failed", toDown["status"]!.GetValue<string>());
        Assert.Equal(3, toDown["attempts"]!.GetValue<int>());
        Assert.Equal("HTTP 503 (gave up after 3 tries)", toDown["last_error"]!.GetValue<string>());
        var toGone = Assert.Single(deliveries, d => d!["channel_id"]!.GetValue<long>() == gone)!;
        Assert.Equal("failed", toGone["status"]!.GetValue<string>());
        Assert.Equal(1, toGone["attempts"]!.GetValue<int>());
        Assert.Equal("HTTP 404", toGone["last_error"]!.GetValue<string>());
        Assert.Equal(3, own.Received.Count(r => r.Path == "/down"));
        Assert.Single(own.Received, r => r.Path == "/gone");
    }

    [Fact]
    public async Task The_same_event_published_twice_is_queued_once()
    {
        var (userId, client) = await UserAsync();
        await client.WebhookAsync(receiver.BaseUrl + "/twice", ["run_failed"]);
        Assert.Equal(1, await app.PublishAsync("twice-1", userId, "told once"));
        Assert.Equal(0, await app.PublishAsync("twice-1", userId, "told once"));
        await app.SettleAsync();
        Assert.Single(await receiver.WaitForAsync("/twice"));
        Assert.Single(await client.DeliveriesAsync());
    }
}

/// <summary>Two instances on one database, both sending: each delivery leaves once.</summary>
public sealed class DeliveryAcrossInstancesTests(NotificationsApp app, NotificationReceiver receiver) : IClassFixture<NotificationsApp>, IClassFixture<NotificationReceiver>
{
    [Fact]
    public async Task Two_instances_publishing_and_sending_the_same_events_send_each_once()
    {
        await using var second = await app.SecondInstanceAsync();
        var (client, _, _) = await app.NewUserAsync();
        var userId = (await (await client.GetAsync("/api/auth/me")).ExpectAsync(200, 0))["data"]!["id"]!.GetValue<long>();
        receiver.Answer(async (context, _) =>
        {
            await Task.Delay(30);
            await NotificationReceiver.WriteAsync(context, 200, "{}");
        });
        for (var c = 0; c < 4; c++) await client.WebhookAsync($"{receiver.BaseUrl}/once/{c}", ["run_failed"]);

        var notifiers = new[] { app.Services.GetRequiredService<Notifier>(), second.Services.GetRequiredService<Notifier>() };
        await Parallel.ForEachAsync(Enumerable.Range(0, 40), async (i, ct) =>
        {
            var notice = new Notice("run_failed", $"once-{i / 2}", $"run {i / 2} failed", ["failed"], new Dictionary<string, object?>(), userId);
            await notifiers[i % 2].PublishAsync(notice, ct);
        });

        var received = await receiver.WaitForAsync("/once/0", 20);
        await Tasks.TaskTestKit.EventuallyAsync(() => client.DeliveriesAsync(), d => d.Count == 80 && d.All(x => x!["status"]!.GetValue<string>() == "sent"), 60);
        await Task.Delay(1000);
        var all = receiver.Received.Where(r => r.Path.StartsWith("/once/", StringComparison.Ordinal)).ToList();
        Assert.Equal(80, all.Count);
        Assert.Equal(80, all.Select(r => r.Json["delivery_id"]!.GetValue<long>()).Distinct().Count());
        Assert.All(Enumerable.Range(0, 4), c => Assert.Equal(20, all.Count(r => r.Path == $"/once/{c}")));
        Assert.Equal(20, received.Select(r => r.Json["title"]!.GetValue<string>()).Distinct().Count());
    }
}
