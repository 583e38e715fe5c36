using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using MySqlConnector;

namespace AkshareWeb.Features.Notifications;

/// <summary>
/// Sends what is queued, on every instance: every <see cref="NotificationOptions.PollSeconds"/> (or at once when this
/// instance queued something) it claims each due channel's deliveries (<see cref="DeliveryQueue.ClaimAsync"/>: one
/// instance per channel at a time, the per-minute cap across all), sends them outside any transaction, and records
/// each outcome: sent; due again after a back-off that doubles from <see cref="NotificationOptions.RetryBaseSeconds"/>;
/// or failed after <see cref="NotificationOptions.MaxAttempts"/> tries or at once when retrying cannot help.
/// </summary>
public sealed class DeliveryWorker(
    DeliveryQueue queue, ChannelStore channels, ChannelSender sender, DeliverySignal signal, IOptions<NotificationOptions> options,
    TimeProvider time, ILogger<DeliveryWorker> logger) : BackgroundLoop(time, logger)
{
    /// <summary>This instance's name on the deliveries it claims.</summary>
    public string Worker { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    private long lastPrune;

    protected override string Work => "Sending notifications";

    protected override TimeSpan Interval => TimeSpan.FromSeconds(Math.Max(0.05, options.Value.PollSeconds));

    protected override bool IsOutage(Exception e) => base.IsOutage(e) || e is InvalidOperationException;

    protected override async Task RoundAsync(CancellationToken ct)
    {
        signal.Reset();
        await SendDueAsync(ct);
        await PruneNowAndThenAsync(ct);
    }

    // The next poll, or sooner when this instance queued something.
    protected override async Task<bool> NextRoundAsync(CancellationToken ct)
    {
        using var nap = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await Task.WhenAny(signal.Woken, Task.Delay(Interval, Time, nap.Token));
        await nap.CancelAsync();
        return !ct.IsCancellationRequested;
    }

    /// <summary>One round: every channel with deliveries due, a few at once.</summary>
    public async Task SendDueAsync(CancellationToken ct)
    {
        var due = await queue.DueChannelsAsync(ct);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (channelId, token) =>
        {
            try
            {
                var messages = await queue.ClaimAsync(channelId, Math.Max(1, options.Value.MaxPerChannelPerMinute), Worker, token);
                if (messages.Count == 0) return;
                var target = await channels.TargetAsync(channelId, token);
                foreach (var message in messages) await SendOneAsync(target, message, token);
            }
            catch (Exception e) when ((Database.IsOutage(e) || Failover.IsUnavailable(e) || e is System.Security.Cryptography.CryptographicException) && !token.IsCancellationRequested)
            {
                logger.LogWarning(e, "Sending to notification channel {ChannelId} failed; its deliveries are due again once their lease ends", channelId);
            }
        });
    }

    /// <summary>Sends a claimed message and records how it went; the test endpoint sends through here too.</summary>
    public async Task<SendOutcome> SendOneAsync(ChannelTarget? target, OutgoingMessage message, CancellationToken ct)
    {
        var outcome = target is null ? SendOutcome.Never("the channel was deleted") : await sender.SendAsync(target, message, ct);
        if (outcome.Sent)
        {
            await queue.SentAsync(message, null, Worker);
            return outcome;
        }

        var last = !outcome.Retry || message.Attempt >= Math.Max(1, options.Value.MaxAttempts) || message.Event == NotificationEvents.Test;
        var retryAt = last ? (DateTime?)null
            : Time.GetUtcNow().UtcDateTime.AddSeconds(options.Value.RetryBaseSeconds * Math.Pow(2, message.Attempt - 1));
        var error = last && outcome.Retry && message.Event != NotificationEvents.Test ? $"{outcome.Error} (gave up after {message.Attempt} tries)" : outcome.Error!;
        await queue.NotSentAsync(message, error, retryAt, Worker);
        if (last) logger.LogWarning("Notification {DeliveryId} ({Event}) to channel {ChannelId} failed: {Error}", message.DeliveryId, message.Event, message.ChannelId, error);
        return outcome;
    }

    private async Task PruneNowAndThenAsync(CancellationToken ct)
    {
        if (lastPrune != 0 && Time.GetElapsedTime(lastPrune) < TimeSpan.FromHours(1)) return;
        lastPrune = Time.GetTimestamp();
        await queue.PruneAsync(options.Value.KeepDays, ct);
    }
}
