using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Settings;
using AkshareWeb.Features.Warehouse;
using Dapper;
using Hangfire;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace AkshareWeb.Api.Setup;

/// <summary>Configuration section <c>Metrics</c>.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>A scraper from another host sends it as <c>Authorization: Bearer &lt;token&gt;</c>; empty, only loopback and admins read /metrics.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// Requests from loopback read /metrics without a token. Turn it off behind a reverse proxy on the same host,
    /// where every request comes from loopback.
    /// </summary>
    public bool AllowLoopback { get; set; } = true;
}

/// <summary>
/// <c>GET /metrics</c> in Prometheus' text format (OpenTelemetry's exporter): the service's own meter
/// (<see cref="AkshareMetrics"/>) and the gauges read at scrape time (<see cref="OperatorGauges"/>). Open to
/// loopback, to admins' tokens and to the scrape token; anyone else gets the usual 401/403 envelope.
/// </summary>
public static class Metrics
{
    public const string Path = "/metrics";
    public const string Policy = "metrics";

    public static IServiceCollection AddAkshareWebMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<MetricsOptions>(configuration.GetSection(MetricsOptions.Section));
        services.AddSingleton<AkshareMetrics>();
        services.AddSingleton<OperatorGauges>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(AkshareMetrics.MeterName)
            // The AKTools client's retries and time-outs (resilience_polly_strategy_events, by pipeline and event).
            .AddMeter("Polly")
            // Every scrape sees the counters as they are: a test (or an operator) reads right after a run.
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy.RequireAssertion(context =>
            context.User.IsInRole(Roles.Admin) || context.Resource is HttpContext http && IsOperator(http)));
        return services;
    }

    /// <summary>
    /// An admin's token, the scrape token, or a process on this host (<see cref="MetricsOptions.AllowLoopback"/>):
    /// who may read /metrics and the detail of /health/ready.
    /// </summary>
    public static bool IsOperator(HttpContext http)
    {
        if (http.User.IsInRole(Roles.Admin)) return true;
        var options = http.RequestServices.GetRequiredService<IOptions<MetricsOptions>>().Value;
        // Loopback only without forwarding headers: through a proxy on this host, everyone would be loopback.
        if (options.AllowLoopback && ClientAddress.IsLocal(http)) return true;
        return !string.IsNullOrEmpty(options.Token)
            && http.Request.Headers.Authorization.ToString() is var header && header.StartsWith("Bearer ", StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(options.Token));
    }

    /// <summary>Times every request, outermost, so the status is the one the client got (envelopes included).</summary>
    public static WebApplication UseAkshareWebRequestMetrics(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<AkshareMetrics>();
        app.Use(async (context, next) =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                // The route's template, never the path: one series per endpoint, not per table or id.
                var route = context.GetEndpoint() is RouteEndpoint endpoint ? "/" + endpoint.RoutePattern.RawText?.TrimStart('/') : "unmatched";
                metrics.HttpRequest(route, MethodLabel(context.Request.Method), context.Response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        });
        return app;
    }

    private static readonly string[] KnownMethods =
        [HttpMethods.Get, HttpMethods.Head, HttpMethods.Post, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete, HttpMethods.Options];

    /// <summary>A client chooses the method's text (<c>curl -X ANYTHING</c>): any other than these is OTHER, or every
    /// new word would be a new series kept for the life of the process.</summary>
    public static string MethodLabel(string method) =>
        Array.Find(KnownMethods, m => m.Equals(method, StringComparison.OrdinalIgnoreCase)) ?? "OTHER";

    public static WebApplication MapAkshareWebMetrics(this WebApplication app)
    {
        // After authorization: only a scrape that may read refreshes the gauges that cost queries.
        app.UseWhen(c => c.Request.Path.Equals(Path, StringComparison.Ordinal) && HttpMethods.IsGet(c.Request.Method), branch => branch.Use(async (context, next) =>
        {
            await context.RequestServices.GetRequiredService<OperatorGauges>().RefreshAsync(context.RequestAborted);
            await next(context);
        }));
        app.MapPrometheusScrapingEndpoint(Path).RequireAuthorization(Policy).DisableRateLimiting();
        return app;
    }
}

/// <summary>
/// The gauges that need the database or Hangfire: read once per scrape (a handful of small queries; concurrent
/// scrapes share one reading), not on every observation. While the database does not answer, <c>akshareweb_database_up</c> is 0 and the others keep their last values.
/// </summary>
public sealed class OperatorGauges : IDisposable
{
    private readonly ExecutionReads executions;
    private readonly PartStore parts;
    private readonly WarehouseDatabase warehouse;
    private readonly WarehouseTables registry;
    private readonly SystemSettings settings;
    private readonly ExecutionSlots slots;
    private readonly SitePauses sites;
    private readonly JobStorage storage;
    private readonly TimeProvider time;
    private readonly ILogger<OperatorGauges> logger;
    private readonly SemaphoreSlim gate = new(1, 1);
    private long readAt;
    private volatile Snapshot current = new(0, 0, 0, 0, 0, 0, 0, [], 0, 0, []);

    private sealed record Snapshot(int DatabaseUp, long Running, long SlotsLimit, long Enqueued, long Scheduled, long Failed, long Processing,
        IReadOnlyList<(string Table, long Rows)> Tables, long PartsWaiting, long PartsRunning, IReadOnlyList<SiteState> Sites);

    public OperatorGauges(
        AkshareMetrics metrics, ExecutionReads executions, PartStore parts, WarehouseDatabase warehouse, WarehouseTables registry, SystemSettings settings, ExecutionSlots slots,
        SitePauses sites, JobStorage storage, TimeProvider time, ILogger<OperatorGauges> logger)
    {
        (this.executions, this.parts, this.warehouse, this.registry, this.settings, this.slots, this.sites, this.storage, this.time, this.logger) =
            (executions, parts, warehouse, registry, settings, slots, sites, storage, time, logger);
        var meter = metrics.Meter;
        meter.CreateObservableGauge("akshareweb.database.up", () => current.DatabaseUp, description: "1 when the application database answered the last scrape");
        meter.CreateObservableGauge("akshareweb.executions.running", () => current.Running, description: "Executions running now, on every instance");
        meter.CreateObservableGauge("akshareweb.execution.slots.in_use", () => this.slots.InUse, description: "Run slots this instance holds now");
        meter.CreateObservableGauge("akshareweb.execution.slots.limit", () => current.SlotsLimit, description: "max_concurrent_tasks: slots shared by all instances");
        meter.CreateObservableGauge("akshareweb.hangfire.jobs", () => new Measurement<long>[]
        {
            new(current.Enqueued, new KeyValuePair<string, object?>("state", "enqueued")),
            new(current.Scheduled, new KeyValuePair<string, object?>("state", "scheduled")),
            new(current.Failed, new KeyValuePair<string, object?>("state", "failed")),
            new(current.Processing, new KeyValuePair<string, object?>("state", "processing")),
        }, description: "Hangfire jobs by state");
        meter.CreateObservableGauge("akshareweb.execution.parts", () => new Measurement<long>[]
        {
            new(current.PartsWaiting, new KeyValuePair<string, object?>("state", "waiting")),
            new(current.PartsRunning, new KeyValuePair<string, object?>("state", "running")),
        }, description: "Parts of running executions, on every instance: waiting (pending, not started yet) and running");
        meter.CreateObservableGauge("akshareweb.warehouse.tables", () => current.Tables.Count, description: "Managed warehouse tables");
        meter.CreateObservableGauge("akshareweb.warehouse.table.rows",
            () => current.Tables.Select(t => new Measurement<long>(t.Rows, new KeyValuePair<string, object?>("table", t.Table))),
            description: "InnoDB's row estimate of each managed table (information_schema.TABLES.TABLE_ROWS)");
        meter.CreateObservableGauge("akshareweb.site_family.paused",
            () => current.Sites.Select(s => new Measurement<int>(s.State is "paused" or "probing" ? 1 : 0, new KeyValuePair<string, object?>("family", s.Family))),
            description: "1 while an upstream site family is paused after transient failures in a row (no call of it leaves but the probe)");
        meter.CreateObservableGauge("akshareweb.site_family.rate",
            () => current.Sites.Select(s => new Measurement<double>(s.EffectiveRate, new KeyValuePair<string, object?>("family", s.Family))),
            description: "Calls per second an upstream site family is allowed now: its configured rate times the share it climbs back at after a pause; 0 while paused or unlimited");
    }

    public void Dispose() => gate.Dispose();

    public async Task RefreshAsync(CancellationToken ct)
    {
        var asked = time.GetTimestamp();
        await gate.WaitAsync(ct);
        try
        {
            // A reading that started after this scrape asked is as fresh as one of its own.
            if (readAt > asked) return;
            var started = time.GetTimestamp();
            current = await ReadAsync(ct);
            readAt = started;
        }
        catch (Exception e) when (e is MySqlConnector.MySqlException or InvalidOperationException or TimeoutException || Failover.IsUnavailable(e))
        {
            logger.LogDebug(e, "Reading the gauges for /metrics failed");
            current = current with { DatabaseUp = 0 };
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<Snapshot> ReadAsync(CancellationToken ct)
    {
        var running = await executions.CountRunningAsync(ct);
        var open = await parts.OpenAsync(ct);
        var names = await registry.NamesAsync(ct);

        var limit = (await settings.GetExecutionSettingsAsync(ct)).MaxConcurrentTasks;
        var stats = await Task.Run(() => storage.GetMonitoringApi().GetStatistics(), ct).WaitAsync(TimeSpan.FromSeconds(3), ct);
        IReadOnlyList<(string, long)> tables = [];
        if (names.Count > 0)
        {
            await using var connection = await warehouse.OpenAsync(ct);
            tables = (await connection.QueryAsync<(string, long)>(new CommandDefinition("""
                SELECT TABLE_NAME, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN @names ORDER BY TABLE_NAME
                """, new { names }, cancellationToken: ct))).AsList();
        }

        var siteStates = await sites.ListAsync(ct);
        return new Snapshot(1, running, limit, stats.Enqueued, stats.Scheduled, stats.Failed, stats.Processing, tables, open.Waiting, open.Running, siteStates);
    }
}
