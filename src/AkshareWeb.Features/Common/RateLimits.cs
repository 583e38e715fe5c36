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
    /// <summary>Login attempts naming one username, from anywhere: stops a distributed guess at one account.</summary>
    public int LoginAttemptsPerUsername { get; set; } = 10;
    /// <summary>Table exports running at once on an instance; more wait in a short queue, then get 429.</summary>
    public int ConcurrentExports { get; set; } = 4;
}
