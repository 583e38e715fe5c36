using System.Text.Json;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

/// <summary>One message on its way to one channel: the event's words, which try this is, when it happened.</summary>
public sealed record OutgoingMessage(
    long DeliveryId, long ChannelId, string Event, string Title, IReadOnlyList<string> Lines, JsonElement Facts, DateTime OccurredAt, int Attempt);

/// <summary>
/// The queue of deliveries (<c>notification_deliveries</c>, <c>notification_sends</c>): claims, outcomes, clean-up.
/// A channel's due deliveries are claimed under its row lock (SKIP LOCKED: instances share channels, never a
/// delivery), and each message claimed is counted in <c>notification_sends</c> in the same transaction, so the
/// per-minute cap holds however many instances send. What the cap holds back goes out later as one summary.
/// </summary>
public sealed class DeliveryQueue(Database database, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>How long a claimed delivery is this instance's; past it (the instance died mid-send) it is due again.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>Channels with deliveries due now; deliveries whose lease ran out are due again first.</summary>
    public async Task<IReadOnlyList<long>> DueChannelsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        // Read first, then changed by id: a ranged UPDATE would lock the index range that claims move rows into.
        var expired = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM notification_deliveries WHERE status = @sending AND claimed_until < @now LIMIT 1000",
            new { sending = DeliveryStatuses.Sending, now }, cancellationToken: ct))).AsList();
        if (expired.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE notification_deliveries SET status = @pending, claimed_by = NULL, claimed_until = NULL
                WHERE id IN @expired AND status = @sending AND claimed_until < @now
                """, new { pending = DeliveryStatuses.Pending, sending = DeliveryStatuses.Sending, now, expired }, cancellationToken: ct));
        }

        return (await connection.QueryAsync<long>(new CommandDefinition("""
            SELECT DISTINCT channel_id FROM notification_deliveries WHERE status = @pending AND next_attempt_at <= @now LIMIT 100
            """, new { pending = DeliveryStatuses.Pending, now }, cancellationToken: ct))).AsList();
    }

    private sealed record DueRow(long Id, int Attempts, string Event, string Title, string Body, DateTime CreatedAt);

    /// <summary>
    /// Claims what <paramref name="channelId"/> may get now: as many due deliveries as the cap leaves room for in the
    /// last minute; when more are due, all but the last room go one by one and the rest together in one summary.
    /// Nothing when another instance holds the channel or the cap is reached.
    /// </summary>
    public async Task<IReadOnlyList<OutgoingMessage>> ClaimAsync(long channelId, int cap, string worker, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        var active = await connection.QuerySingleOrDefaultAsync<bool?>(new CommandDefinition(
            "SELECT is_active FROM notification_channels WHERE id = @channelId FOR UPDATE SKIP LOCKED", new { channelId }, transaction, cancellationToken: ct));
        if (active is null) return [];
        if (active == false)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE notification_deliveries SET status = @failed, last_error = 'the channel is turned off'
                WHERE channel_id = @channelId AND status = @pending
                """, new { failed = DeliveryStatuses.Failed, pending = DeliveryStatuses.Pending, channelId }, transaction, cancellationToken: ct));
            await transaction.CommitAsync(ct);
            return [];
        }

        var room = cap - await SentLatelyAsync(connection, transaction, channelId, now, ct);
        if (room <= 0) return [];
        // A plain read is enough under the channel's lock: only its holder changes the channel's pending deliveries
        // (publishers add new ones, which the next claim finds).
        var due = (await connection.QueryAsync<DueRow>(new CommandDefinition("""
            SELECT d.id AS Id, d.attempts AS Attempts, e.event AS Event, e.title AS Title, CAST(e.body AS CHAR) AS Body, e.created_at AS CreatedAt
            FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id
            WHERE d.channel_id = @channelId AND d.status = @pending AND d.next_attempt_at <= @now
            ORDER BY d.id LIMIT 1000
            """, new { channelId, pending = DeliveryStatuses.Pending, now }, transaction, cancellationToken: ct))).AsList();
        if (due.Count == 0) return [];
        var single = due.Count <= room ? due : due.Take(room - 1).ToList();
        var messages = single.Select(d => Message(d, channelId, d.Attempts + 1)).ToList();
        var claimed = single.Select(d => d.Id).ToList();
        if (due.Count > room)
        {
            var held = due.Skip(room - 1).ToList();
            var summary = await SummariseAsync(connection, transaction, channelId, cap, held, now, ct);
            messages.Add(summary);
            claimed.Add(summary.DeliveryId);
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE notification_deliveries SET status = @sending, attempts = attempts + 1, last_attempt_at = @now, claimed_by = @worker, claimed_until = @until
            WHERE id IN @claimed;
            INSERT INTO notification_sends (channel_id, sent_at) SELECT @channelId, @now FROM notification_deliveries WHERE id IN @claimed;
            """, new { sending = DeliveryStatuses.Sending, now, worker, until = now + Lease, claimed, channelId }, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
        return messages;
    }

    /// <summary>One summary event and delivery for <paramref name="held"/>, which become 'summarised' and point at it.</summary>
    private static async Task<OutgoingMessage> SummariseAsync(
        MySqlConnection connection, MySqlTransaction transaction, long channelId, int cap, IReadOnlyList<DueRow> held, DateTime now, CancellationToken ct)
    {
        const int listed = 25;
        var lines = held.Take(listed).Select(h => $"{h.Event}: {h.Title}").ToList();
        if (held.Count > listed) lines.Add($"… and {held.Count - listed} more: GET /api/notifications/deliveries?status=summarised");
        var title = $"{held.Count} notifications held back by the limit of {cap} a minute";
        var facts = new Dictionary<string, object?> { ["held_back"] = held.Count, ["events"] = held.Select(h => h.Event).Distinct().ToList() };
        var eventId = await Notifier.InsertEventAsync(connection, transaction, NotificationEvents.Summary, $"{channelId}:{held[0].Id}", title, lines, facts, now, ct)
            ?? throw new InvalidOperationException($"the summary of deliveries from {held[0].Id} exists already");
        var summaryId = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO notification_deliveries (event_id, channel_id, status, attempts, next_attempt_at, created_at) VALUES (@eventId, @channelId, @pending, 0, @now, @now);
            SELECT LAST_INSERT_ID();
            """, new { eventId, channelId, pending = DeliveryStatuses.Pending, now }, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE notification_deliveries SET status = @summarised, summary_id = @summaryId WHERE id IN @ids",
            new { summarised = DeliveryStatuses.Summarised, summaryId, ids = held.Select(h => h.Id).ToList() }, transaction, cancellationToken: ct));
        var body = JsonSerializer.Serialize(new { lines, facts }, Json);
        return Message(new DueRow(summaryId, 0, NotificationEvents.Summary, title, body, now), channelId, 1);
    }

    /// <summary>
    /// A channel's test message, claimed at once (it is sent inside the request): null when the channel has had its
    /// <paramref name="cap"/> messages in the last minute.
    /// </summary>
    public async Task<OutgoingMessage?> ClaimTestAsync(long channelId, string title, IReadOnlyList<string> lines, int cap, string worker, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT id FROM notification_channels WHERE id = @channelId FOR UPDATE", new { channelId }, transaction, cancellationToken: ct));
        if (await SentLatelyAsync(connection, transaction, channelId, now, ct) >= cap) return null;
        var facts = new Dictionary<string, object?> { ["channel_id"] = channelId };
        var eventId = (await Notifier.InsertEventAsync(connection, transaction, NotificationEvents.Test, Guid.NewGuid().ToString("N"), title, lines, facts, now, ct))!.Value;
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO notification_deliveries (event_id, channel_id, status, attempts, next_attempt_at, last_attempt_at, claimed_by, claimed_until, created_at)
            VALUES (@eventId, @channelId, @sending, 1, @now, @now, @worker, @until, @now);
            INSERT INTO notification_sends (channel_id, sent_at) VALUES (@channelId, @now);
            SELECT LAST_INSERT_ID();
            """, new { eventId, channelId, sending = DeliveryStatuses.Sending, now, worker, until = now + Lease }, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
        return new OutgoingMessage(id, channelId, NotificationEvents.Test, title, lines, JsonSerializer.SerializeToElement(facts, Json), now, 1);
    }

    /// <summary>Seconds until the channel may get its next message (for a test refused by the cap).</summary>
    public async Task<int> SecondsUntilRoomAsync(long channelId, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        var oldest = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            "SELECT MIN(sent_at) FROM notification_sends WHERE channel_id = @channelId AND sent_at > @since", new { channelId, since = now - Window }, cancellationToken: ct));
        return oldest is { } o ? Math.Max(1, (int)Math.Ceiling((o + Window - now).TotalSeconds)) : 1;
    }

    private static Task<int> SentLatelyAsync(MySqlConnection connection, MySqlTransaction transaction, long channelId, DateTime now, CancellationToken ct) =>
        connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT COUNT(*) FROM notification_sends WHERE channel_id = @channelId AND sent_at > @since",
            new { channelId, since = now - Window }, transaction, cancellationToken: ct));

    private static OutgoingMessage Message(DueRow row, long channelId, int attempt)
    {
        using var body = JsonDocument.Parse(row.Body);
        var lines = body.RootElement.TryGetProperty("lines", out var l) ? l.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : [];
        var facts = body.RootElement.TryGetProperty("facts", out var f) ? f.Clone() : JsonSerializer.SerializeToElement(new { }, Json);
        return new OutgoingMessage(row.Id, channelId, row.Event, row.Title, lines, facts, row.CreatedAt, attempt);
    }

    /// <summary>Delivered. A summary's held deliveries were delivered with it.</summary>
    public async Task SentAsync(OutgoingMessage message, string? error, string worker)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE notification_deliveries SET status = @sent, sent_at = @now, claimed_by = NULL, claimed_until = NULL, last_error = COALESCE(@error, last_error)
            WHERE id = @id AND status = @sending AND claimed_by = @worker;
            UPDATE notification_deliveries SET sent_at = @now WHERE summary_id = @id;
            """, new { sent = DeliveryStatuses.Sent, now, error, id = message.DeliveryId, sending = DeliveryStatuses.Sending, worker }));
    }

    /// <summary>
    /// Not delivered: due again at <paramref name="retryAt"/>, or failed for good when it is null (a summary's held
    /// deliveries with it).
    /// </summary>
    public async Task NotSentAsync(OutgoingMessage message, string error, DateTime? retryAt, string worker)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var args = new
        {
            id = message.DeliveryId,
            status = retryAt is null ? DeliveryStatuses.Failed : DeliveryStatuses.Pending,
            next = retryAt ?? time.GetUtcNow().UtcDateTime,
            error = Notifier.Cut(error, 1000),
            carried = Notifier.Cut($"carried by summary {message.DeliveryId}, which failed: {error}", 1000),
            failed = DeliveryStatuses.Failed,
            sending = DeliveryStatuses.Sending,
            worker,
        };
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE notification_deliveries SET status = @status, next_attempt_at = @next, last_error = @error, claimed_by = NULL, claimed_until = NULL
            WHERE id = @id AND status = @sending AND claimed_by = @worker
            """, args));
        if (retryAt is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE notification_deliveries SET status = @failed, last_error = @carried WHERE summary_id = @id", args));
        }
    }

    /// <summary>Events (with their deliveries) older than <paramref name="keepDays"/> days and done; sends older than an hour.</summary>
    public async Task PruneAsync(int keepDays, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM notification_sends WHERE sent_at < @hourAgo", new { hourAgo = now.AddHours(-1) }, cancellationToken: ct));
        var done = (await connection.QueryAsync<long>(new CommandDefinition("""
            SELECT e.id FROM notification_events e WHERE e.created_at < @cutoff AND NOT EXISTS (
              SELECT 1 FROM notification_deliveries d WHERE d.event_id = e.id AND d.status IN (@pending, @sending))
            ORDER BY e.id LIMIT 5000
            """, new { cutoff = now.AddDays(-keepDays), pending = DeliveryStatuses.Pending, sending = DeliveryStatuses.Sending }, cancellationToken: ct))).AsList();
        // Their deliveries go with them (ON DELETE CASCADE).
        if (done.Count > 0) await connection.ExecuteAsync(new CommandDefinition("DELETE FROM notification_events WHERE id IN @done", new { done }, cancellationToken: ct));
    }
}
