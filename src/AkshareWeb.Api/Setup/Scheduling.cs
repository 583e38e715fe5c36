using AkshareWeb.Features.Common;
using AkshareWeb.Hangfire.MySql;
using AkshareWeb.Features.Executions;
using Hangfire;

namespace AkshareWeb.Api.Setup;

/// <summary>Configuration section <c>Hangfire</c>.</summary>
public sealed class SchedulingOptions
{
    public const string Section = "Hangfire";

    public int WorkerCount { get; set; } = 10;
    /// <summary>Workers of the <c>adhoc</c> queue (users' downloads), apart from the scheduled runs' workers.</summary>
    public int AdhocWorkerCount { get; set; } = 4;
    public string TablesPrefix { get; set; } = "hangfire_";
    /// <summary>How soon a job enqueued by another instance is seen; this instance's own jobs start at once.</summary>
    public double QueuePollIntervalSeconds { get; set; } = 1;
    public double ShutdownTimeoutSeconds { get; set; } = 15;
    /// <summary>How often delayed jobs (once tasks, retries with backoff) are moved to the queue when due.</summary>
    public double SchedulePollingIntervalSeconds { get; set; } = 1;
}

/// <summary>
/// Hangfire on our MySQL storage, in the application database: schedules, queues and retries persist there
/// and are shared by every instance. The dashboard is an endpoint like any other, so the same JWT (or the
/// dashboard cookie, for a browser) and the admin policy guard it.
/// </summary>
public static class Scheduling
{
    /// <summary>Job types by the name Hangfire stored; a job class renamed since keeps its stored jobs running.</summary>
    internal static Type ResolveJobType(string typeName) =>
        typeName.StartsWith(AkshareWeb.Features.Tasks.DueTaskJob.FormerTypeName + ",", StringComparison.Ordinal)
            ? typeof(AkshareWeb.Features.Tasks.DueTaskJob)
            : global::Hangfire.Common.TypeHelper.DefaultTypeResolver(typeName);

    public static IServiceCollection AddAkshareWebScheduling(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(SchedulingOptions.Section).Get<SchedulingOptions>() ?? new SchedulingOptions();
        // This host's own storage, registered before AddHangfire: left to it, the container's JobStorage is whatever
        // the static JobStorage.Current holds when first asked for, which is another host's when two hosts in one
        // process configure Hangfire at once (the tests, a second instance): this one's jobs would then be queued in
        // the other's database, and a run left pending for ever.
        services.AddSingleton<JobStorage>(provider => new MySqlStorage(provider.GetRequiredService<Database>().ConnectionString, new MySqlStorageOptions
        {
            TablesPrefix = options.TablesPrefix,
            QueuePollInterval = TimeSpan.FromSeconds(options.QueuePollIntervalSeconds),
            FailoverPatience = provider.GetRequiredService<Database>().Patience,
            // On a cluster, to the node every other connection of this instance goes to.
            OpenConnection = provider.GetRequiredService<Database>().Open,
        }));
        services.AddHangfire((provider, hangfire) => hangfire
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseTypeResolver(ResolveJobType)
            .UseRecommendedSerializerSettings()
            .UseStorage(provider.GetRequiredService<JobStorage>()));
        services.AddHangfireServer((provider, server) =>
        {
            // Hangfire's default activator is process-wide; two hosts in one process (the tests, a second
            // instance) must each build jobs from their own container.
            server.Activator = new global::Hangfire.AspNetCore.AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>());
            server.WorkerCount = options.WorkerCount;
            server.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds);
            server.SchedulePollingInterval = TimeSpan.FromSeconds(options.SchedulePollingIntervalSeconds);
            server.Queues = [ExecutionQueues.Scheduled];
        });
        // Users' downloads wait in a queue of their own with their own workers, so a burst of them never holds
        // up scheduled collection (whose queue the server above works alone).
        services.AddHangfireServer((provider, server) =>
        {
            server.Activator = new global::Hangfire.AspNetCore.AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>());
            server.WorkerCount = options.AdhocWorkerCount;
            server.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds);
            server.SchedulePollingInterval = TimeSpan.FromSeconds(options.SchedulePollingIntervalSeconds);
            server.Queues = [ExecutionQueues.Adhoc];
        });

        // The dashboard's POST actions (trigger, delete, requeue) need an antiforgery token: Hangfire checks one
        // whenever this service exists. Its cookie follows the dashboard session cookie's rules.
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "akshareweb_antiforgery";
            antiforgery.Cookie.Path = AkshareWeb.Features.Auth.OpenDashboardSession.DashboardPath;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            antiforgery.Cookie.HttpOnly = true;
        });
        return services;
    }

    public static WebApplication MapAkshareWebDashboard(this WebApplication app)
    {
        // Hangfire's log provider is one for the whole process and holds the logger factory of the host that set it
        // last; once that host is disposed, every Hangfire logger asked for afterwards (one per job client) throws.
        // Only hosts sharing a process (the tests) meet it; the wrapper answers them with a silent logger instead.
        app.Services.GetRequiredService<IGlobalConfiguration>()
            .UseLogProvider(new TolerantLogProvider(app.Services.GetRequiredService<ILoggerFactory>()));
        app.MapHangfireDashboard(AkshareWeb.Features.Auth.OpenDashboardSession.DashboardPath, new DashboardOptions
        {
            // The endpoint's authorization policy decides; Hangfire's local-requests-only default would refuse
            // every remote admin.
            Authorization = [],
            AsyncAuthorization = [],
            DashboardTitle = "AkshareWeb jobs",
            AppPath = "/swagger",
        }).RequireAuthorization(Roles.AdminPolicy);
        return app;
    }
}

/// <summary>Hangfire's ASP.NET Core log provider, silent once its logger factory is gone.</summary>
internal sealed class TolerantLogProvider(ILoggerFactory factory) : global::Hangfire.Logging.ILogProvider
{
    private readonly global::Hangfire.AspNetCore.AspNetCoreLogProvider inner = new(factory);

    public global::Hangfire.Logging.ILog GetLogger(string name)
    {
        try
        {
            return inner.GetLogger(name);
        }
        catch (ObjectDisposedException)
        {
            return Silent.Instance;
        }
    }

    private sealed class Silent : global::Hangfire.Logging.ILog
    {
        public static readonly Silent Instance = new();

        public bool Log(global::Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
    }
}
