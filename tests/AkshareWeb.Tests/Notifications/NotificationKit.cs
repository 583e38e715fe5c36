using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Parts;

namespace AkshareWeb.Tests.Notifications;

/// <summary>
/// The app for channels whose receiver (a <see cref="NotificationReceiver"/> fixture) is on loopback: private targets
/// allowed, deliveries looked for every 0.2 s and retried after 0.2 s, no cap to speak of.
/// </summary>
public class NotificationsApp : AkshareWebApp
{
    public NotificationsApp()
    {
        NotificationKit.AllowLoopbackReceivers(Set);
        Set("Notifications:RetryBaseSeconds", "0.2");
    }
}

/// <summary>
/// The collecting app (fake AKTools, the fan-out scripts) for channels on loopback: runs that really fail raise the
/// events. A task fails twice in a row before task_failing.
/// </summary>
public class NotifyingRunsApp : PartsApp
{
    public NotifyingRunsApp()
    {
        NotificationKit.AllowLoopbackReceivers(Set);
        Set("Notifications:TaskFailingAfter", "2");
    }
}

public static class NotificationKit
{
    /// <summary>Receivers on loopback are reached (Notifications:AllowPrivateTargets), quickly and without a cap.</summary>
    public static void AllowLoopbackReceivers(Action<string, string?> set)
    {
        set("Notifications:AllowPrivateTargets", "true");
        set("Notifications:PollSeconds", "0.2");
        set("Notifications:MaxPerChannelPerMinute", "1000");
    }

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
