using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>
/// Per-username limit on login attempts. The HTTP limiter partitions before the body is read, so the username
/// is only known here, inside the slice; it uses the same built-in limiter types.
/// </summary>
public sealed class LoginAttempts : IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter;
    private readonly int windowSeconds;

    public LoginAttempts(IOptions<RateLimitOptions> options)
    {
        var o = options.Value;
        windowSeconds = o.WindowSeconds;
        limiter = PartitionedRateLimiter.Create<string, string>(username => RateLimitPartition.GetFixedWindowLimiter(
            username, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = o.LoginAttemptsPerUsername,
                Window = TimeSpan.FromSeconds(o.WindowSeconds),
                QueueLimit = 0,
            }));
    }

    public void Register(string username)
    {
        using var lease = limiter.AttemptAcquire(username.ToLowerInvariant());
        if (!lease.IsAcquired)
        {
            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? (int)Math.Ceiling(after.TotalSeconds) : windowSeconds;
            throw ApiError.TooManyRequests(Math.Max(1, retry));
        }
    }

    public void Dispose() => limiter.Dispose();
}
