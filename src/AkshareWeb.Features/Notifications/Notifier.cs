using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

/// <summary>
/// The publish side: whoever notices something (the end of a run, the watchdog, later the site pauses and the
/// coverage checks) raises a <see cref="Notice"/> here with one call. Publishing only writes rows (the event once,
/// a pending delivery per channel that hears it) and wakes this instance's <see cref="DeliveryWorker"/>; it
/// never waits for a receiver, so a slow or dead robot cannot hold up or fail a run.
/// </summary>
public sealed class Notifier(Database database, DeliverySignal signal, MarketTime market, TimeProvider time, ILogger<Notifier> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The channels the notice was queued for; 0 when no channel hears it or it was published before.</summary>
    public async Task<int> PublishAsync(Notice notice, CancellationToken ct)
    {
        if (!NotificationEvents.All.Contains(notice.Event)) throw new ArgumentException($"unknown event {notice.Event}", nameof(notice));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var queued = await QueueAsync(notice, ct);
                if (queued > 0) signal.Wake();
                return queued;
            }
            catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout && attempt < 3)
            {
                // Claims lock a channel while publishers check their deliveries' channel: taken again, it goes through.
                logger.LogDebug(e, "Publishing {Event} {Key} met a lock; trying again", notice.Event, notice.Key);
            }
        }
    }

    private async Task<int> QueueAsync(Notice notice, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        var eventId = await InsertEventAsync(connection, transaction, notice.Event, notice.Key, notice.Title, notice.Lines, notice.Facts, now, ct);
        if (eventId is null) return 0;
        var admins = notice.ToAdmins ? await UserAccounts.ActiveAdminIdsAsync(connection, transaction, ct) : [];
        var owner = notice.UserId is { } id && await UserAccounts.FindAsync(connection, transaction, id, ct) is { IsActive: true } ? id : (long?)null;
        // A plain read of the channels, then the deliveries by value: an INSERT ... SELECT would hold shared locks on
        // the channels that the delivery workers lock to claim.
        var channels = (await connection.QueryAsync<long>(new CommandDefinition("""
            SELECT c.id FROM notification_channels c
            WHERE c.is_active = 1 AND JSON_CONTAINS(c.events, JSON_QUOTE(@event))
              AND ((c.scope = @mine AND c.user_id = @owner) OR (c.scope = @all AND c.user_id IN @admins))
            """, new { notice.Event, mine = ChannelScopes.Mine, owner, all = ChannelScopes.All, admins }, transaction, cancellationToken: ct))).AsList();
        if (channels.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO notification_deliveries (event_id, channel_id, status, attempts, next_attempt_at, created_at)
                VALUES (@eventId, @channelId, @pending, 0, @now, @now)
                """, channels.Select(channelId => new { eventId, channelId, pending = DeliveryStatuses.Pending, now }), transaction, cancellationToken: ct));
        }

        await transaction.CommitAsync(ct);
        return channels.Count;
    }

    /// <summary>
    /// <see cref="PublishAsync"/> for hooks that must not fail what they hook into (a run's end, the watchdog): a
    /// database that does not answer costs the notice, logged, never the caller.
    /// </summary>
    public async Task TryPublishAsync(Notice notice, CancellationToken ct)
    {
        try
        {
            await PublishAsync(notice, ct);
        }
        catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException or OperationCanceledException)
        {
            logger.LogWarning(e, "The {Event} notice {Key} was not published", notice.Event, notice.Key);
        }
    }

    /// <summary>
    /// site_paused: <paramref name="family"/> (eastmoney, sina, ...) of the AKTools host <paramref name="host"/> makes no
    /// calls until <paramref name="untilUtc"/> after <paramref name="failuresInARow"/> failures in a row. Heard by the
    /// admins' <c>all</c> channels; each pause once.
    /// </summary>
    public Task SitePausedAsync(string family, string host, DateTime untilUtc, int failuresInARow, string? lastError, CancellationToken ct)
    {
        var until = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(untilUtc, DateTimeKind.Utc), market.Zone);
        var lines = new List<string> { $"No call of {family} leaves for {host} until {until:yyyy-MM-dd HH:mm} ({market.ZoneId}); runs waiting on it keep their tries." };
        if (lastError is not null) lines.Add("Last failure: " + lastError);
        return TryPublishAsync(new Notice(NotificationEvents.SitePaused, $"{host}|{family}|{untilUtc:O}",
            $"{family} paused until {until:HH:mm} after {failuresInARow} failures in a row", lines,
            new Dictionary<string, object?> { ["family"] = family, ["host"] = host, ["until"] = untilUtc, ["failures_in_a_row"] = failuresInARow },
            UserId: null), ct);
    }

    /// <summary>
    /// table_gaps: <paramref name="table"/> went stale or has new gaps (<paramref name="finding"/>, a sentence, with up to
    /// a few <paramref name="examples"/>). <paramref name="key"/> names the check (the table and day it ran for), so a
    /// finding is told once; <paramref name="ownerUserId"/>, when given, also tells that user's own channels.
    /// </summary>
    public Task TableGapsAsync(string table, string finding, IReadOnlyList<string> examples, string key, long? ownerUserId, CancellationToken ct) =>
        TryPublishAsync(new Notice(NotificationEvents.TableGaps, $"{table}|{key}", $"{table}: {finding}", [finding, .. examples],
            new Dictionary<string, object?> { ["table"] = table }, ownerUserId), ct);

    /// <summary>The event row, or null when this event and key were published before (by anyone).</summary>
    internal static async Task<long?> InsertEventAsync(
        MySqlConnection connection, MySqlTransaction transaction, string @event, string key, string title, IReadOnlyList<string> lines,
        IReadOnlyDictionary<string, object?> facts, DateTime now, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new
        {
            lines = lines.Take(Notice.LinesMax).Select(l => Cut(l, Notice.LineMax)).ToList(),
            facts,
        }, Json);
        try
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                INSERT INTO notification_events (event, event_key, title, body, created_at) VALUES (@event, @key, @title, @body, @now);
                SELECT LAST_INSERT_ID();
                """, new { @event, key = Cut(key, Notice.KeyMax), title = Cut(title, Notice.TitleMax), body, now }, transaction, cancellationToken: ct));
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            return null;
        }
    }

    internal static string Cut(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}

/// <summary>Wakes this instance's delivery worker when something was queued here, instead of at its next poll.</summary>
public sealed class DeliverySignal
{
    private TaskCompletionSource woken = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Wake() => Volatile.Read(ref woken).TrySetResult();

    /// <summary>Completes at the next <see cref="Wake"/> after the last <see cref="Reset"/> (at once when one came meanwhile).</summary>
    public Task Woken => Volatile.Read(ref woken).Task;

    /// <summary>Called before the worker looks: a wake-up from then on makes it look again.</summary>
    public void Reset()
    {
        var current = Volatile.Read(ref woken);
        if (current.Task.IsCompleted) Interlocked.CompareExchange(ref woken, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
    }
}
