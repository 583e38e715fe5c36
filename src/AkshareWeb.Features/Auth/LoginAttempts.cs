using System.Data;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>
/// Throttles password guessing without letting a stranger lock the owner out. Only failures count. A pair of
/// account and client address is refused (429) after a few failures, so a guesser is stopped while the owner,
/// from their own address, is not. Across all addresses, an account that keeps failing is only slowed down
/// (a delay that grows with each failure, before the password is checked): a distributed guess gets expensive,
/// and a correct password from a new address still gets in. Counters are keyed on the resolved account, so
/// "admin ", "ADMIN" and "ádmin" — which all log into one account — share them.
/// <para>
/// The counters are rows of the application database (<c>login_failures</c>), shared by every instance. An attempt
/// is counted as a failure before its password is checked, under the row lock of its account's counter, and the
/// count is undone when the password was right: fifteen guesses at once meet the limit as fifteen in a row would.
/// The brake's delay is waited with no database connection held.
/// </para>
/// </summary>
public sealed class LoginAttempts(IOptions<RateLimitOptions> options, TimeProvider time)
{
    // Serialises the attempts on one account, on every instance, for the few statements that count them.
    private const string LockAccount = """
        INSERT INTO login_counters (account_key, touched_at) VALUES (@accountKey, @now)
        ON DUPLICATE KEY UPDATE touched_at = @now
        """;

    private const string CountFailures = """
        SELECT (SELECT COUNT(*) FROM login_failures WHERE pair_key = @pairKey AND failed_at > @since) AS PairFailures,
               (SELECT MIN(failed_at) FROM login_failures WHERE pair_key = @pairKey AND failed_at > @since) AS PairOldest,
               (SELECT COUNT(*) FROM (SELECT 1 FROM login_failures WHERE account_key = @accountKey AND failed_at > @since LIMIT @enough) recent) AS AccountFailures
        """;

    private const string AddFailure = """
        INSERT INTO login_failures (account_key, pair_key, failed_at) VALUES (@accountKey, @pairKey, @now);
        SELECT LAST_INSERT_ID();
        """;

    private long nextPruneTicks;

    /// <summary>The counter key of a login: the account when the name resolves to one, else the name as the
    /// database would compare it (trimmed, case and accents folded), so unknown names cannot be told apart.</summary>
    public static string AccountKey(long? userId, string username) =>
        userId is { } id ? "user:" + id.ToString(CultureInfo.InvariantCulture) : "name:" + Fold(username);

    public static string Fold(string username)
    {
        var trimmed = username.Trim();
        // .NET's normalisation throws on noncharacters and lone surrogates (the requests refuse them, this is not the
        // only caller); no account's name holds one, so such a name is counted as it is written.
        if (UnicodeText.Problem(trimmed) is not null) return trimmed.ToLowerInvariant();
        var decomposed = trimmed.Normalize(NormalizationForm.FormKD);
        var kept = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) kept.Append(c);
        }

        return kept.ToString().Normalize(NormalizationForm.FormC).ToLowerInvariant();
    }

    /// <summary>
    /// Counts this attempt as a failed login before its password is checked. Refuses it (429, nothing counted) when
    /// its pair of account and address is at its limit; otherwise the attempt says how long the account-wide brake
    /// makes it wait (zero when the account is not under attack), to be waited after the connection is given back.
    /// </summary>
    public async Task<LoginAttempt> CountAsync(MySqlConnection connection, string account, string address, CancellationToken ct)
    {
        var o = options.Value;
        // Whole microseconds, as DATETIME(6) keeps them (MySQL would round the rest, MariaDB cut it).
        var now = time.GetUtcNow().UtcDateTime;
        now = now.AddTicks(-(now.Ticks % 10));
        var window = TimeSpan.FromSeconds(o.LoginFailureWindowSeconds);
        var keys = new { accountKey = Key(account), pairKey = Key(account + "|" + address), now, since = now - window, enough = o.LoginAccountBrakeAfter + 21 };
        LoginAttempt attempt;
        for (var tries = 1; ; tries++)
        {
            try
            {
                await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
                await connection.ExecuteAsync(new CommandDefinition(LockAccount, keys, transaction, cancellationToken: ct));
                var counted = await connection.QuerySingleAsync<(long PairFailures, DateTime? PairOldest, long AccountFailures)>(
                    new CommandDefinition(CountFailures, keys, transaction, cancellationToken: ct));
                if (counted.PairFailures >= o.LoginFailuresPerAccountAndAddress)
                {
                    await transaction.RollbackAsync(ct);
                    var retry = (counted.PairOldest ?? now) + window - now;
                    throw ApiError.TooManyRequests(Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)));
                }

                var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(AddFailure, keys, transaction, cancellationToken: ct));
                await transaction.CommitAsync(ct);
                attempt = new LoginAttempt(id, keys.pairKey, Brake(counted.AccountFailures));
                break;
            }
            catch (MySqlException e) when (tries < ConflictTries && IsLockConflict(e))
            {
                // Another attempt on the same account won the lock: on this node, or on a Galera cluster on another node
                // at the same moment (two instances whose connections are on two nodes, as for a moment after a
                // failover), which fails this COMMIT's certification. Nothing was counted: count again.
                await Task.Delay(ConflictPause(tries), ct);
            }
        }

        await PruneAsync(connection, keys.since, ct);
        return attempt;
    }

    private static bool IsLockConflict(MySqlException e) => Failover.IsConflict(e) || e.ErrorCode == MySqlErrorCode.LockWaitTimeout;

    /// <summary>Sign-ins of one account write the same rows: on two nodes they can conflict several times running, the
    /// more so as each repeat meets the other's; a few short pauses that differ per attempt part them.</summary>
    private const int ConflictTries = 6;

    private static TimeSpan ConflictPause(int tries) => TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) << Math.Min(tries, 5));

    /// <summary>A correct password: the attempt was no failure, and it clears its own pair. The account-wide count
    /// keeps the pair's earlier failures, so a guesser cannot reset the brake by logging into an account of their own.</summary>
    public async Task SucceededAsync(MySqlConnection connection, LoginAttempt attempt, CancellationToken ct, MySqlTransaction? transaction = null)
    {
        var clear = new CommandDefinition("""
            DELETE FROM login_failures WHERE id = @id;
            UPDATE login_failures SET pair_key = NULL WHERE pair_key = @pairKey;
            """, new { id = attempt.FailureId, pairKey = attempt.PairKey }, transaction, cancellationToken: ct);
        for (var tries = 1; ; tries++)
        {
            try
            {
                await connection.ExecuteAsync(clear);
                return;
            }
            catch (MySqlException e) when (transaction is null && tries < ConflictTries && IsLockConflict(e))
            {
                // Another sign-in of the same pair cleared the same rows at the same moment, on another node: both
                // statements can be repeated as they are. (Inside a caller's transaction, the caller's whole work is
                // what was rolled back; it is theirs to repeat.)
                await Task.Delay(ConflictPause(tries), ct);
            }
        }
    }

    /// <summary>The delay of an attempt on an account that has failed this often within the window.</summary>
    private TimeSpan Brake(long accountFailures)
    {
        var o = options.Value;
        var over = accountFailures - o.LoginAccountBrakeAfter;
        if (over < 0) return TimeSpan.Zero;
        var delay = o.LoginAccountBrakeBaseMilliseconds * Math.Pow(2, Math.Min(over, 20));
        return TimeSpan.FromMilliseconds(Math.Min(delay, o.LoginAccountBrakeMaxMilliseconds));
    }

    /// <summary>Failures that have left the window: at most once a minute per instance, a bounded delete.</summary>
    private async Task PruneAsync(MySqlConnection connection, DateTime since, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcTicks;
        var next = Interlocked.Read(ref nextPruneTicks);
        if (now < next || Interlocked.CompareExchange(ref nextPruneTicks, now + TimeSpan.TicksPerMinute, next) != next) return;
        try
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                DELETE FROM login_failures WHERE failed_at <= @since LIMIT 10000;
                DELETE FROM login_counters WHERE touched_at <= @since LIMIT 10000;
                """, new { since }, cancellationToken: ct));
        }
        catch (MySqlException e) when (IsLockConflict(e))
        {
            // Attempts being counted hold those rows' neighbours: the next minute's prune takes them.
        }
    }

    private static byte[] Key(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));
}

/// <summary>A login attempt, counted as a failure until its password proves right; <see cref="Brake"/> is how long
/// it must wait before the password is checked.</summary>
public sealed record LoginAttempt(long FailureId, byte[] PairKey, TimeSpan Brake);
