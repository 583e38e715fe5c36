using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>
/// Throttles password guessing without letting a stranger lock the owner out. Only failures count. A pair of
/// account and client address is refused (429) after a few failures, so a guesser is stopped while the owner,
/// from their own address, is not. Across all addresses, an account that keeps failing is only slowed down
/// (a delay that grows with each failure, before the password is checked): a distributed guess gets expensive,
/// and a correct password from a new address still gets in. Counters are kept per instance and keyed on the
/// resolved account, so "admin ", "ADMIN" and "ádmin" — which all log into one account — share them.
/// </summary>
public sealed class LoginAttempts(IOptions<RateLimitOptions> options, TimeProvider time)
{
    private const int SweepAbove = 10_000;
    private readonly ConcurrentDictionary<string, Failures> pairs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Failures> accounts = new(StringComparer.Ordinal);
    private long nextSweepTicks;

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

    /// <summary>Refuses the attempt when this pair is over its limit; otherwise returns how long the account-wide
    /// brake makes the attempt wait (zero when the account is not under attack).</summary>
    public TimeSpan Check(string account, string address)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        var window = TimeSpan.FromSeconds(o.LoginFailureWindowSeconds);
        if (pairs.TryGetValue(Pair(account, address), out var pair) && pair.Count(now, window) is var count
            && count >= o.LoginFailuresPerAccountAndAddress)
        {
            var retry = pair.Oldest(now, window) + window - now;
            throw ApiError.TooManyRequests(Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)));
        }

        if (!accounts.TryGetValue(account, out var all)) return TimeSpan.Zero;
        var over = all.Count(now, window) - o.LoginAccountBrakeAfter;
        if (over < 0) return TimeSpan.Zero;
        var delay = o.LoginAccountBrakeBaseMilliseconds * Math.Pow(2, Math.Min(over, 20));
        return TimeSpan.FromMilliseconds(Math.Min(delay, o.LoginAccountBrakeMaxMilliseconds));
    }

    public void Failed(string account, string address)
    {
        var now = time.GetUtcNow();
        pairs.GetOrAdd(Pair(account, address), _ => new Failures()).Add(now);
        accounts.GetOrAdd(account, _ => new Failures()).Add(now);
        // Under a wide attack the maps stay large: sweep at most once a minute, not on every failure.
        if (pairs.Count + accounts.Count > SweepAbove && now.UtcTicks >= Interlocked.Read(ref nextSweepTicks))
        {
            Interlocked.Exchange(ref nextSweepTicks, (now + TimeSpan.FromMinutes(1)).UtcTicks);
            Sweep(pairs, now);
            Sweep(accounts, now);
        }
    }

    /// <summary>A correct password clears its own pair; the account-wide count only decays, so a guesser
    /// cannot reset the brake by logging into an account of their own.</summary>
    public void Succeeded(string account, string address) => pairs.TryRemove(Pair(account, address), out _);

    private static string Pair(string account, string address) => account + "|" + address;

    private void Sweep(ConcurrentDictionary<string, Failures> counters, DateTimeOffset now)
    {
        var window = TimeSpan.FromSeconds(options.Value.LoginFailureWindowSeconds);
        foreach (var (key, failures) in counters)
        {
            if (failures.Count(now, window) == 0) counters.TryRemove(key, out _);
        }
    }

    /// <summary>Failure times within the window, oldest first.</summary>
    private sealed class Failures
    {
        private readonly Queue<DateTimeOffset> times = new();

        public void Add(DateTimeOffset at)
        {
            lock (times) times.Enqueue(at);
        }

        public int Count(DateTimeOffset now, TimeSpan window)
        {
            lock (times)
            {
                while (times.Count > 0 && times.Peek() <= now - window) times.Dequeue();
                return times.Count;
            }
        }

        public DateTimeOffset Oldest(DateTimeOffset now, TimeSpan window)
        {
            lock (times) return times.Count > 0 ? times.Peek() : now - window;
        }
    }
}
