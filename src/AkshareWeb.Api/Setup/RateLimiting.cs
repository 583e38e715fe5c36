using System.Globalization;
using System.Threading.RateLimiting;
using AkshareWeb.Features.Auth;
using AkshareWeb.Features.Common;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// Per-caller limits with the built-in limiter: signed-in users by id and role, anonymous callers by client
/// address, and a stricter window for login and registration attempts. Counters live in each instance.
/// </summary>
public static class RateLimiting
{
    public static IServiceCollection AddAkshareWebRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<RateLimitOptions>(configuration.GetSection(RateLimitOptions.Section));
        services.AddRateLimiter(_ => { });
        // Read the limits when the limiter is built, not while services are registered, so that every
        // configuration source (environment, test host settings) has been applied.
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((options, configured) =>
        {
            var limits = configured.Value;
            var window = TimeSpan.FromSeconds(limits.WindowSeconds);
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (!context.Request.Path.StartsWithSegments("/api"))
                {
                    return RateLimitPartition.GetNoLimiter("outside-api");
                }

                var user = context.User;
                if (user.Identity?.IsAuthenticated == true && user.FindFirst(TokenClaims.Subject)?.Value is { } id)
                {
                    var admin = user.IsInRole(Roles.Admin);
                    return Fixed("user:" + id + (admin ? ":admin" : ""), admin ? limits.AdminPerWindow : limits.UserPerWindow, window);
                }

                return Fixed("address:" + Address(context), limits.AnonymousPerWindow, window);
            });

            options.AddPolicy(AuthApi.AttemptsPolicy, context =>
                Fixed("attempts:" + Address(context), limits.AuthAttemptsPerAddress, window));

            // Each readiness check queries the database, Hangfire and AKTools: anonymous callers get a budget; operators
            // (admins, the scrape token, this host itself) and their monitors none.
            options.AddPolicy(Health.RatePolicy, context => Metrics.IsOperator(context)
                ? RateLimitPartition.GetNoLimiter("operator")
                : Fixed("health:" + Address(context), limits.HealthPerWindow, window));

            options.AddConcurrencyLimiter(AkshareWeb.Features.Tables.TablesApi.ExportsPolicy, exports =>
            {
                exports.PermitLimit = limits.ConcurrentExports;
                exports.QueueLimit = limits.ConcurrentExports * 4;
                exports.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
            });

            options.OnRejected = (context, _) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after)
                    ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds))
                    : limits.WindowSeconds;
                context.HttpContext.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(ErrorResponses.WriteAsync(context.HttpContext, 429, ErrorCodes.General,
                    "too many requests", $"retry after {retry} s"));
            };
        });
        return services;
    }

    private static string Address(HttpContext context) => ClientAddress.Key(context);

    private static RateLimitPartition<string> Fixed(string key, int permits, TimeSpan window) =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = window,
            QueueLimit = 0,
        });
}
