namespace AkshareWeb.Features.Common;

/// <summary>Configuration section <c>RateLimits</c>: requests per window, by who is asking.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    public int WindowSeconds { get; set; } = 60;
    public int UserPerWindow { get; set; } = 100;
    public int AdminPerWindow { get; set; } = 1000;
    public int AnonymousPerWindow { get; set; } = 100;
    /// <summary>Login and register attempts from one client address.</summary>
    public int AuthAttemptsPerAddress { get; set; } = 20;
    /// <summary>Failed logins to one account from one address (IPv6: one /64) within <see cref="LoginFailureWindowSeconds"/>;
    /// more from that pair answer 429 until the window has passed. Other addresses are not affected.</summary>
    public int LoginFailuresPerAccountAndAddress { get; set; } = 5;
    public int LoginFailureWindowSeconds { get; set; } = 900;
    /// <summary>Failed logins to one account from anywhere after which every login to it is slowed down.</summary>
    public int LoginAccountBrakeAfter { get; set; } = 20;
    /// <summary>The brake's first delay; it doubles with every further failure, up to <see cref="LoginAccountBrakeMaxMilliseconds"/>.</summary>
    public int LoginAccountBrakeBaseMilliseconds { get; set; } = 250;
    public int LoginAccountBrakeMaxMilliseconds { get; set; } = 10_000;
    /// <summary>Readiness checks (<c>/health/ready</c>) per window from one address, for callers that are not operators.</summary>
    public int HealthPerWindow { get; set; } = 60;
    /// <summary>Table exports running at once on an instance; more wait in a short queue, then get 429.</summary>
    public int ConcurrentExports { get; set; } = 4;
}
