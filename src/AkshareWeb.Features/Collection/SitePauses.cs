using System.Collections.Concurrent;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Notifications;

namespace AkshareWeb.Features.Collection;

/// <summary>Configuration section <c>Bans</c>: when a site family pauses and how it comes back.</summary>
public sealed class BanOptions
{
    public const string Section = "Bans";

    /// <summary>Transient failures in a row, across parts and runs, that pause a family; 0 or less never pauses.</summary>
    public int FailuresInARow { get; set; } = 8;

    /// <summary>The first pause; each failed probe doubles it, up to <see cref="MaxCooldownSeconds"/>.</summary>
    public double CooldownSeconds { get; set; } = 60;

    public double MaxCooldownSeconds { get; set; } = 1800;

    /// <summary>The share of its configured rate a family resumes at after a probe succeeded.</summary>
    public double ResumeRateShare { get; set; } = 0.5;

    /// <summary>What each success adds to that share, until the family is back at its full rate.</summary>
    public double RateStepPerSuccess { get; set; } = 0.02;
}

/// <summary>What the pause bookkeeping made of a failed try.</summary>
public enum SiteVerdict
{
    /// <summary>The part's own failure as far as anyone can tell: it spends one of the part's tries.</summary>
    Counted,

    /// <summary>Other callers are failing in a row too: the site, not the part, is likely at fault.</summary>
    Shared,

    /// <summary>The family is paused (by this failure, a failed probe, or before): waiting costs the part no try.</summary>
    Paused,
}

/// <summary>One fetch's standing with its site family: its own name in the failure streak, and whether the try
/// under way is the one probe allowed after a pause.</summary>
public sealed class SiteCall(string family, bool waitWhilePaused = true)
{
    public string Family { get; } = family;
    public bool WaitWhilePaused { get; } = waitWhilePaused;
    public string Caller { get; } = Guid.NewGuid().ToString("N");
    public bool Probing { get; set; }
}

/// <summary>A family's state for the API and the gauges.</summary>
public sealed record SiteState(
    string Family, string State, double RateLimit, double EffectiveRate, double RateShare, int FailuresInARow, DateTime? PausedAt, DateTime? PausedUntil,
    string? PauseReason, int CooldownSeconds, int Pauses, DateTime? LastFailureAt, DateTime? LastSuccessAt);

/// <summary>
/// Adaptive pauses per upstream site family behind the configured AKTools host (issue: bans on eastmoney's and
/// Sina's endpoints). Transient failures in a row across every part, run and instance (one row per host and family
/// in site_family_states, changed by conditional UPDATEs on the database's clock, like the rates) pause the family:
/// no call of it leaves until the cool-down ends, then exactly one probe goes. A probe that succeeds resumes the
/// family at a share of its configured rate that climbs back with each success; one that fails doubles the
/// cool-down. A database that does not answer costs the bookkeeping, never the call.
/// </summary>
public sealed class SitePauses(
    Database database, IOptions<BanOptions> options, IOptions<AkToolsOptions> akTools, IOptions<SiteRateOptions> rates, TimeProvider time, ILogger<SitePauses> logger,
    MarketTime? market = null, Notifier? notifier = null)
{
    /// <summary>The zone a pause's end is told in: the market's (a host without it, the benchmarks, says UTC).</summary>
    private readonly (TimeZoneInfo Zone, string Name) zone = market is null ? (TimeZoneInfo.Utc, "UTC") : (market.Zone, market.ZoneId);

    private readonly ConcurrentDictionary<string, double> shares = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> known = new(StringComparer.Ordinal);

    /// <summary>A probe holds the family this long at most: longer than one try may take.</summary>
    private readonly int probeLease = akTools.Value.TimeoutSeconds + 30;

    /// <summary>The AKTools host the states belong to: every instance configured for it shares them.</summary>
    public string Host { get; } = Uri.TryCreate(akTools.Value.BaseUrl, UriKind.Absolute, out var uri) ? uri.Authority : akTools.Value.BaseUrl;

    private bool Enabled => options.Value.FailuresInARow > 0;

    /// <summary>The share of its configured rate the family runs at, as last read (1 when never troubled).</summary>
    public double ShareOf(string family) => shares.TryGetValue(family, out var share) ? share : 1;

    /// <summary>
    /// Returns when a call of the family may leave: at once when it is not paused; otherwise after the cool-down,
    /// either as the one probe (<see cref="SiteCall.Probing"/>) or once another caller's probe has resumed it. A
    /// call that must not wait (<see cref="SiteCall.WaitWhilePaused"/>: someone is at the screen) gets the pause's
    /// reason instead; null when the call may go.
    /// </summary>
    public async Task<string?> WaitAsync(SiteCall call, CancellationToken ct)
    {
        call.Probing = false;
        if (!Enabled) return null;
        while (true)
        {
            TimeSpan wait;
            string? reason;
            try
            {
                var row = await ReadAsync(call.Family, ct);
                if (row?.PausedUntil is not { } until) return null;
                if (row.Now < until) wait = Clamp(until - row.Now);
                else if (await TryTakeProbeAsync(call, ct)) return null;
                else wait = TimeSpan.FromMilliseconds(500); // another caller's probe is out
                reason = row.PauseReason ?? Describe(call.Family, until, row.FailuresInARow);
            }
            catch (Exception e) when (Database.IsOutage(e))
            {
                logger.LogWarning(e, "The pause state of {Family} could not be read; the call goes", call.Family);
                return null;
            }

            if (!call.WaitWhilePaused) return reason;
            await Task.Delay(wait, time, ct);
        }
    }

    /// <summary>A try reached an answer that is not a transient failure: the streak ends, a probe resumes its family.</summary>
    public async Task SucceededAsync(SiteCall call, CancellationToken ct)
    {
        if (!Enabled) return;
        var o = options.Value;
        try
        {
            await using var connection = await database.OpenAsync(ct);
            // MySQL assigns left to right, each expression seeing the columns already assigned: the cool-down is
            // forgotten when this success brings the rate back to full, judged before the rate moves.
            var share = await connection.QuerySingleOrDefaultAsync<double?>(new CommandDefinition(call.Probing
                ? """
                  UPDATE site_family_states SET paused_until = NULL, probe_caller = NULL, probe_until = NULL, failures_in_row = 0,
                    streak_caller = NULL, streak_mixed = 0, rate_factor = LEAST(rate_factor, @resume), last_success_at = UTC_TIMESTAMP(6)
                  WHERE host = @host AND family = @family AND probe_caller = @caller;
                  SELECT rate_factor FROM site_family_states WHERE host = @host AND family = @family;
                  """
                : """
                  UPDATE site_family_states SET failures_in_row = 0, streak_caller = NULL, streak_mixed = 0,
                    cooldown_seconds = IF(rate_factor + @step >= 1, 0, cooldown_seconds), rate_factor = LEAST(1, rate_factor + @step),
                    last_success_at = UTC_TIMESTAMP(6)
                  WHERE host = @host AND family = @family AND paused_until IS NULL AND (failures_in_row > 0 OR rate_factor < 1);
                  SELECT rate_factor FROM site_family_states WHERE host = @host AND family = @family;
                  """,
                new { host = Host, call.Family, caller = call.Caller, resume = Math.Clamp(o.ResumeRateShare, 0.01, 1), step = Math.Max(0, o.RateStepPerSuccess) },
                cancellationToken: ct));
            if (share is { } s) shares[call.Family] = s;
            if (call.Probing) logger.LogInformation("{Family} resumed at {Share:P0} of its rate: the probe after its pause succeeded", call.Family, share ?? 1);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            logger.LogWarning(e, "A success of {Family} was not recorded", call.Family);
        }
        finally
        {
            call.Probing = false;
        }
    }

    /// <summary>A try failed transiently (AKTools' 500, a time-out, a reset; <paramref name="failure"/> says which): the
    /// streak grows and may pause the family.</summary>
    public async Task<SiteVerdict> FailedAsync(SiteCall call, string failure, CancellationToken ct)
    {
        if (!Enabled) return SiteVerdict.Counted;
        var o = options.Value;
        var probing = call.Probing;
        call.Probing = false;
        try
        {
            await using var connection = await database.OpenAsync(ct);
            var args = new
            {
                host = Host, call.Family, caller = call.Caller, threshold = o.FailuresInARow,
                first = (int)Math.Max(1, o.CooldownSeconds), max = (int)Math.Max(1, Math.Max(o.CooldownSeconds, o.MaxCooldownSeconds)),
            };
            // A failed probe pauses again for twice as long; any other failure adds to the streak, and the one that
            // reaches the threshold (only one can: the family is no longer unpaused after it) starts the pause.
            var row = await connection.QuerySingleAsync<FailureRow>(new CommandDefinition(probing
                ? """
                  UPDATE site_family_states SET failures_in_row = failures_in_row + 1, last_failure_at = UTC_TIMESTAMP(6),
                    cooldown_seconds = LEAST(@max, GREATEST(@first, cooldown_seconds * 2)),
                    paused_until = UTC_TIMESTAMP(6) + INTERVAL cooldown_seconds SECOND, probe_caller = NULL, probe_until = NULL
                  WHERE host = @host AND family = @family AND probe_caller = @caller;
                  SELECT ROW_COUNT() AS Started, failures_in_row AS FailuresInARow, streak_mixed AS Mixed, paused_at AS PausedAt,
                    paused_until AS PausedUntil, cooldown_seconds AS CooldownSeconds
                  FROM site_family_states WHERE host = @host AND family = @family;
                  """
                : """
                  UPDATE site_family_states SET
                    streak_mixed = IF(failures_in_row = 0, 0, IF(streak_caller = @caller, streak_mixed, 1)),
                    streak_caller = IF(failures_in_row = 0, @caller, streak_caller),
                    failures_in_row = failures_in_row + 1, last_failure_at = UTC_TIMESTAMP(6)
                  WHERE host = @host AND family = @family;
                  UPDATE site_family_states SET
                    cooldown_seconds = IF(cooldown_seconds = 0, @first, LEAST(@max, cooldown_seconds * 2)),
                    paused_at = UTC_TIMESTAMP(6), paused_until = UTC_TIMESTAMP(6) + INTERVAL cooldown_seconds SECOND,
                    rate_factor = GREATEST(0.05, rate_factor / 2), pauses = pauses + 1, pause_reason = NULL
                  WHERE host = @host AND family = @family AND paused_until IS NULL AND failures_in_row >= @threshold;
                  SELECT ROW_COUNT() AS Started, failures_in_row AS FailuresInARow, streak_mixed AS Mixed, paused_at AS PausedAt,
                    paused_until AS PausedUntil, cooldown_seconds AS CooldownSeconds
                  FROM site_family_states WHERE host = @host AND family = @family;
                  """,
                args, cancellationToken: ct));
            if (row.Started > 0) await PausedAsync(connection, call.Family, row, probing, failure, ct);
            if (row.PausedUntil is not null) return SiteVerdict.Paused;
            return row.Mixed && row.FailuresInARow >= 2 ? SiteVerdict.Shared : SiteVerdict.Counted;
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            logger.LogWarning(e, "A failure of {Family} was not recorded", call.Family);
            return SiteVerdict.Counted;
        }
    }

    /// <summary>A probe that ended without an answer either way (its run was cancelled): the next caller may probe.</summary>
    public async Task ReleaseProbeAsync(SiteCall call)
    {
        if (!call.Probing) return;
        call.Probing = false;
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE site_family_states SET probe_caller = NULL, probe_until = NULL WHERE host = @host AND family = @family AND probe_caller = @caller",
                new { host = Host, call.Family, caller = call.Caller }));
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            logger.LogWarning(e, "The probe of {Family} was not released; its lease frees it", call.Family);
        }
    }

    /// <summary>Why the family is paused now, or null: for a part that waited past its time-out.</summary>
    public async Task<string?> PauseReasonAsync(string family, CancellationToken ct)
    {
        if (!Enabled) return null;
        try
        {
            return await ReadAsync(family, ct) is { PausedUntil: { } until } row ? row.PauseReason ?? Describe(family, until, row.FailuresInARow) : null;
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            return null;
        }
    }

    /// <summary>Every configured family (and every other one that has a state) behind this AKTools host.</summary>
    public async Task<IReadOnlyList<SiteState>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<PauseRow>(new CommandDefinition(
            $"{PauseRow.Select} WHERE host = @host", new { host = Host }, cancellationToken: ct))).ToDictionary(r => r.Family, StringComparer.Ordinal);
        var families = rates.Value.Families.Keys.Concat(rows.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return families.Select(family =>
        {
            var limit = rates.Value.Families.TryGetValue(family, out var r) ? r : rates.Value.Default;
            if (!rows.TryGetValue(family, out var row)) return new SiteState(family, "ok", limit, limit, 1, 0, null, null, null, 0, 0, null, null);
            shares[family] = row.RateFactor;
            var state = row.PausedUntil is { } until ? (row.Now < until ? "paused" : "probing") : row.RateFactor < 1 ? "recovering" : "ok";
            var effective = state is "paused" or "probing" ? 0 : Math.Round(limit * row.RateFactor, 3);
            return new SiteState(family, state, limit, effective, row.RateFactor, row.FailuresInARow, Utc(row.PausedAt), Utc(row.PausedUntil),
                row.PauseReason, row.CooldownSeconds, row.Pauses, Utc(row.LastFailureAt), Utc(row.LastSuccessAt));
        }).ToList();
    }

    private async Task<PauseRow?> ReadAsync(string family, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        if (known.TryAdd(family, true))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT IGNORE INTO site_family_states (host, family) VALUES (@host, @family)", new { host = Host, family }, cancellationToken: ct));
        }

        var row = await connection.QuerySingleOrDefaultAsync<PauseRow>(new CommandDefinition(
            $"{PauseRow.Select} WHERE host = @host AND family = @family", new { host = Host, family }, cancellationToken: ct));
        if (row is not null) shares[family] = row.RateFactor;
        return row;
    }

    /// <summary>Whoever ends the cool-down first takes the probe; its lease outlives one try, so a probe whose
    /// instance died frees the family by itself.</summary>
    private async Task<bool> TryTakeProbeAsync(SiteCall call, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var taken = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE site_family_states SET probe_caller = @caller, probe_until = UTC_TIMESTAMP(6) + INTERVAL @lease SECOND
            WHERE host = @host AND family = @family AND paused_until IS NOT NULL AND paused_until <= UTC_TIMESTAMP(6)
              AND (probe_until IS NULL OR probe_until < UTC_TIMESTAMP(6))
            """, new { host = Host, call.Family, caller = call.Caller, lease = probeLease }, cancellationToken: ct));
        call.Probing = taken == 1;
        if (call.Probing) logger.LogInformation("Probing {Family} after its pause", call.Family);
        return call.Probing;
    }

    /// <summary>Writes the reason people read (the run, the API, the notice) and, for a new pause, tells the admins.</summary>
    private async Task PausedAsync(System.Data.Common.DbConnection connection, string family, FailureRow row, bool probe, string failure, CancellationToken ct)
    {
        var reason = Describe(family, row.PausedUntil!.Value, row.FailuresInARow)
            + (probe ? $"; the probe after its cool-down failed too, the next cool-down is {row.CooldownSeconds} s" : "");
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE site_family_states SET pause_reason = @reason WHERE host = @host AND family = @family",
            new { reason, host = Host, family }, cancellationToken: ct));
        logger.LogWarning("Upstream site family {Family} behind {Host}: {Reason}", family, Host, reason);
        if (probe || notifier is null) return;
        await notifier.SitePausedAsync(family, Host, DateTime.SpecifyKind(row.PausedUntil.Value, DateTimeKind.Utc), row.FailuresInARow, failure, ct);
    }

    /// <summary>"eastmoney paused until 20:05 (Asia/Shanghai) after 8 failures in a row": what the run, the API and the log say.</summary>
    private string Describe(string family, DateTime untilUtc, int failuresInARow)
    {
        var until = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(untilUtc, DateTimeKind.Utc), zone.Zone);
        return $"{family} paused until {until.ToString("HH:mm", CultureInfo.InvariantCulture)} ({zone.Name}) after {failuresInARow} failures in a row";
    }

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.FromMilliseconds(20) ? TimeSpan.FromMilliseconds(20) : wait;

    private static DateTime? Utc(DateTime? value) => value is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : null;

    private sealed class FailureRow
    {
        public long Started { get; init; }
        public int FailuresInARow { get; init; }
        public bool Mixed { get; init; }
        public DateTime? PausedAt { get; init; }
        public DateTime? PausedUntil { get; init; }
        public int CooldownSeconds { get; init; }
    }

    private sealed class PauseRow
    {
        public string Family { get; init; } = "";
        public int FailuresInARow { get; init; }
        public DateTime? PausedAt { get; init; }
        public DateTime? PausedUntil { get; init; }
        public string? PauseReason { get; init; }
        public int CooldownSeconds { get; init; }
        public double RateFactor { get; init; }
        public int Pauses { get; init; }
        public DateTime? LastFailureAt { get; init; }
        public DateTime? LastSuccessAt { get; init; }
        public DateTime Now { get; init; }

        public const string Select = """
            SELECT family AS Family, failures_in_row AS FailuresInARow, paused_at AS PausedAt, paused_until AS PausedUntil, pause_reason AS PauseReason,
              cooldown_seconds AS CooldownSeconds, rate_factor AS RateFactor, pauses AS Pauses, last_failure_at AS LastFailureAt,
              last_success_at AS LastSuccessAt, UTC_TIMESTAMP(6) AS Now
            FROM site_family_states
            """;
    }
}
