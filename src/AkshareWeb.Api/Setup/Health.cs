using System.Globalization;
using System.Text.Json;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using Dapper;
using Hangfire;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// <c>/health/live</c>: the process answers. <c>/health/ready</c>: one entry per dependency, as JSON: the database
/// and this instance's Hangfire server heartbeat are required (503 when either fails); AKTools unreachable makes
/// the answer degraded (still 200: the API serves reads without it, only runs fail). The descriptions (AKTools'
/// address, a dependency's own error text) are for operators (<see cref="Metrics.IsOperator"/>); anyone else reads
/// the status words, at most <c>RateLimits:HealthPerWindow</c> times a window per address.
/// </summary>
public static class Health
{
    public const string RatePolicy = "health";

    public static IServiceCollection AddAkshareWebHealth(this IServiceCollection services)
    {
        services.AddHttpClient(nameof(AkToolsCheck), http => http.Timeout = TimeSpan.FromSeconds(3));
        services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database", HealthStatus.Unhealthy, ["ready", "required"])
            .AddCheck<SchedulerCheck>("hangfire", HealthStatus.Unhealthy, ["ready", "required"])
            .AddCheck<AkToolsCheck>("aktools", HealthStatus.Degraded, ["ready"]);
        return services;
    }

    public static WebApplication MapAkshareWebHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).DisableRateLimiting();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = WriteReportAsync,
        }).RequireRateLimiting(RatePolicy);
        return app;
    }

    /// <summary>{"status": "healthy|degraded|unhealthy", "checks": {"database": {"status", "required", "description", "duration_ms"}, ...}},
    /// without the descriptions and durations for anyone but operators.</summary>
    private static async Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        var detailed = Metrics.IsOperator(context);
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", Name(report.Status));
        if (detailed) json.WriteNumber("duration_ms", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", Name(entry.Status));
            json.WriteBoolean("required", entry.Tags.Contains("required"));
            if (detailed)
            {
                json.WriteString("description", entry.Description);
                json.WriteNumber("duration_ms", Math.Round(entry.Duration.TotalMilliseconds, 1));
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    private static string Name(HealthStatus status) => status.ToString().ToLowerInvariant();

    private sealed class DatabaseCheck(Database database) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                await using var connection = await database.OpenAsync(timeout.Token);
                await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: timeout.Token));
                return HealthCheckResult.Healthy("answers");
            }
            catch (Exception e) when (e is MySqlConnector.MySqlException or OperationCanceledException or InvalidOperationException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "database unreachable: " + e.Message);
            }
        }
    }

    /// <summary>
    /// A Hangfire server of this process has beaten its heartbeat lately (Hangfire beats every 30 s): the scheduler
    /// and the workers that run executions are alive here.
    /// </summary>
    private sealed class SchedulerCheck(JobStorage storage, TimeProvider time) : IHealthCheck
    {
        private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                // The monitoring API is synchronous: off the request thread, and not waited for longer than 3 s.
                var servers = await Task.Run(() => storage.GetMonitoringApi().Servers(), cancellationToken).WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
                var mine = ":" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ":";
                var now = time.GetUtcNow().UtcDateTime;
                var alive = servers.Where(s => s.Name.Contains(mine, StringComparison.Ordinal) && s.Heartbeat is { } beat && now - beat < Limit).ToList();
                return alive.Count > 0
                    ? HealthCheckResult.Healthy($"{alive.Count} server(s) of this instance, last heartbeat {(now - alive.Max(s => s.Heartbeat!.Value)).TotalSeconds:0} s ago")
                    : new HealthCheckResult(context.Registration.FailureStatus, $"no Hangfire server of this instance has beaten its heartbeat in the last {Limit.TotalSeconds:0} s");
            }
            catch (Exception e) when (e is MySqlConnector.MySqlException or TimeoutException or InvalidOperationException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "Hangfire storage unreachable: " + e.Message);
            }
        }
    }

    /// <summary>AKTools answers HTTP at all (any status: AKTools' root path is a 404 of its own).</summary>
    private sealed class AkToolsCheck(IHttpClientFactory clients, IOptions<AkToolsOptions> options) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var baseUrl = options.Value.BaseUrl.TrimEnd('/');
            try
            {
                using var response = await clients.CreateClient(nameof(AkToolsCheck)).GetAsync(baseUrl + "/", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                return HealthCheckResult.Healthy($"{baseUrl} answers (HTTP {(int)response.StatusCode})");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"{baseUrl} unreachable: {e.Message}");
            }
        }
    }
}
