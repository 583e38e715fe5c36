using AkshareWeb.Features.Common;
using Dapper;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AkshareWeb.Api.Setup;

/// <summary><c>/health/live</c>: the process answers. <c>/health/ready</c>: and its database does too.</summary>
public static class Health
{
    public static IServiceCollection AddAkshareWebHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseCheck>("database", tags: ["ready"]);
        return services;
    }

    public static WebApplication MapAkshareWebHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).DisableRateLimiting();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).DisableRateLimiting();
        return app;
    }

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
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is MySqlConnector.MySqlException or OperationCanceledException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy("database unreachable: " + e.Message);
            }
        }
    }
}
