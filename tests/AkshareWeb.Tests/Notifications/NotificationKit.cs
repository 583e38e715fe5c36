using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Parts;

namespace AkshareWeb.Tests.Notifications;

/// <summary>
/// The app with a receiver on loopback for its channels: private targets allowed (the receiver is one), deliveries
/// looked for every 0.2 s and retried after 0.2 s.
/// </summary>
public class NotificationsApp : AkshareWebApp
{
    public NotificationReceiver Receiver { get; private set; } = null!;

    public NotificationsApp()
    {
        Set("Notifications:AllowPrivateTargets", "true");
        Set("Notifications:PollSeconds", "0.2");
        Set("Notifications:RetryBaseSeconds", "0.2");
        Set("Notifications:MaxPerChannelPerMinute", "1000");
    }

    public override async Task InitializeAsync()
    {
        Receiver = await NotificationReceiver.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Receiver is not null) await Receiver.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// The collecting app (fake AKTools, the fan-out scripts) with a receiver for its channels: runs that really fail
/// raise the events. A task fails twice in a row before task_failing.
/// </summary>
public class NotifyingRunsApp : PartsApp
{
    public NotificationReceiver Receiver { get; private set; } = null!;

    public NotifyingRunsApp()
    {
        Set("Notifications:AllowPrivateTargets", "true");
        Set("Notifications:PollSeconds", "0.2");
        Set("Notifications:TaskFailingAfter", "2");
        Set("Notifications:MaxPerChannelPerMinute", "1000");
    }

    public override async Task InitializeAsync()
    {
        Receiver = await NotificationReceiver.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Receiver is not null) await Receiver.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

public static class NotificationKit
{
    public static async Task<JsonNode> CreateChannelAsync(this HttpClient client, object body) =>
        (await (await client.PostAsJsonAsync("/api/notifications/channels", body)).ExpectAsync(201, 0))["data"]!;

    /// <summary>A webhook channel to <paramref name="url"/> hearing <paramref name="events"/>; its id.</summary>
    public static async Task<long> WebhookAsync(this HttpClient client, string url, string[] events, string scope = "mine", string? secret = null) =>
        (await client.CreateChannelAsync(new { name = "hook " + Guid.NewGuid().ToString("N")[..6], type = "webhook", url, secret, events, scope }))["id"]!.GetValue<long>();

    public static async Task<JsonNode> TestChannelAsync(this HttpClient client, long channelId) =>
        (await (await client.PostAsync($"/api/notifications/channels/{channelId}/test", null)).ExpectAsync(200, 0))["data"]!;

    public static async Task<JsonArray> DeliveriesAsync(this HttpClient client, string query = "") =>
        (await (await client.GetAsync("/api/notifications/deliveries?page_size=100" + query)).ExpectAsync(200, 0))["data"]!["items"]!.AsArray();
}
