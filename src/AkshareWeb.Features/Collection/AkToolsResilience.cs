using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// The AKTools client's retries, back-off and time-outs as resilience pipelines (Polly v8 through
/// Microsoft.Extensions.Http.Resilience, with its logs and the <c>Polly</c> meter's telemetry): <see cref="Calls"/>
/// retries a call, <see cref="Try"/> limits one try until AKTools' answer begins. They are apart because a try first
/// waits while its site family is paused (<see cref="SitePauses"/>), and that wait is not the try's time.
/// Which failures spend a try is decided per call by its <see cref="AkToolsTries"/>.
/// </summary>
public static class AkToolsResilience
{
    public const string Calls = "aktools-calls";
    public const string Try = "aktools-try";

    internal static readonly ResiliencePropertyKey<AkToolsTries> TriesKey = new("akshareweb.aktools.tries");

    public static IServiceCollection AddAkToolsResilience(this IServiceCollection services)
    {
        services.AddResiliencePipeline<string, HttpResponseMessage>(Calls, (builder, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<AkToolsOptions>>().Value;
            var logger = context.ServiceProvider.GetRequiredService<ILogger<AkToolsClient>>();
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                // The tries a call may spend are counted by AkToolsTries (a paused family's waits cost none), so the
                // strategy's own limit never ends a call.
                MaxRetryAttempts = int.MaxValue,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Context.Properties.TryGetValue(TriesKey, out var tries) && tries.RetryAfter(args.Outcome, options.MaxRetries, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    args.Context.Properties.TryGetValue(TriesKey, out var tries) ? tries.NextDelay(options.RetryBaseDelaySeconds) : TimeSpan.Zero),
                OnRetry = args =>
                {
                    if (args.Context.Properties.TryGetValue(TriesKey, out var tries))
                    {
                        logger.LogWarning("AKTools call {Function} failed ({Reason}); retry after try {Attempt} in {Delay}",
                            tries.Function, args.Outcome.Exception?.Message ?? $"HTTP {(int?)args.Outcome.Result?.StatusCode}", tries.Tries, args.RetryDelay);
                    }

                    return ValueTask.CompletedTask;
                },
            });
        });
        services.AddResiliencePipeline<string, HttpResponseMessage>(Try, (builder, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<AkToolsOptions>>().Value;
            builder.AddTimeout(new TimeoutStrategyOptions { Timeout = TimeSpan.FromSeconds(Math.Max(1, options.TimeoutSeconds)) });
        });
        return services;
    }

    /// <summary>AKTools unreachable, its 500 (AKShare raised: the upstream site refused, timed out, changed), a
    /// proxy's 502-504, a try that timed out, a connection reset: worth another try.</summary>
    public static bool IsTransient(Exception e, CancellationToken ct) => e switch
    {
        HttpRequestException or TimeoutRejectedException or IOException => true,
        TaskCanceledException when !ct.IsCancellationRequested => true, // HttpClient's own time-out
        _ => false,
    };

    public static bool IsTransient(HttpResponseMessage response) => (int)response.StatusCode is 500 or 502 or 503 or 504;
}

/// <summary>
/// The tries of one AKTools call. A transient failure spends one of the call's tries unless its site family is
/// paused (the wait is the family's, not the part's) or other callers fail in a row with it (the site is at fault:
/// such tries are forgiven as many times as the call has tries, then they count).
/// </summary>
public sealed class AkToolsTries(string function, SiteCall site)
{
    public string Function { get; } = function;
    public SiteCall Site { get; } = site;

    /// <summary>Every try sent, forgiven or not.</summary>
    public int Tries { get; set; }

    public SiteVerdict LastVerdict { get; set; } = SiteVerdict.Counted;

    private int counted;
    private int shared;

    public bool RetryAfter(Outcome<HttpResponseMessage> outcome, int maxRetries, CancellationToken ct)
    {
        var transient = outcome.Exception is { } e ? AkToolsResilience.IsTransient(e, ct) : outcome.Result is { } r && AkToolsResilience.IsTransient(r);
        if (!transient) return false;
        switch (LastVerdict)
        {
            case SiteVerdict.Paused:
                return true;
            case SiteVerdict.Shared when shared <= maxRetries:
                shared++;
                return true;
            default:
                counted++;
                return counted <= maxRetries;
        }
    }

    /// <summary>Exponential in the tries that counted; a paused family is waited for before the next try anyway.</summary>
    public TimeSpan NextDelay(double baseSeconds) => LastVerdict == SiteVerdict.Paused
        ? TimeSpan.Zero
        : TimeSpan.FromSeconds(Math.Min(30, baseSeconds * Math.Pow(2, Math.Max(0, counted + shared - 1))));
}
