using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Interfaces;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Tasks;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Api.Setup;

/// <summary>The collection side: AKTools, the catalogue and data scripts, the engine, executions and tasks.</summary>
public static class Collection
{
    public static IServiceCollection AddAkshareWebCollection(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AkToolsOptions>(configuration.GetSection(AkToolsOptions.Section));
        services.Configure<CollectionOptions>(configuration.GetSection(CollectionOptions.Section));
        services.Configure<CatalogOptions>(configuration.GetSection(CatalogOptions.Section));
        services.Configure<DataScriptsOptions>(configuration.GetSection(DataScriptsOptions.Section));
        services.Configure<SchedulerOptions>(configuration.GetSection(SchedulerOptions.Section));

        services.AddHttpClient<AkToolsClient>((provider, http) =>
        {
            var options = provider.GetRequiredService<IOptions<AkToolsOptions>>().Value;
            // The time-out of a try is the resilience pipeline's (AkToolsResilience); this one only backs it up.
            http.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds + 5);
        });
        services.AddHttpClient(nameof(InterfaceCatalog), http => http.Timeout = TimeSpan.FromSeconds(60));

        services.AddMarketTime(configuration);
        services.AddSingleton<ParameterBinder>();
        services.AddSingleton<InterfaceCatalog>();
        services.AddSingleton<ScriptHealthChecks>();
        services.AddSingleton<ICatalogImportWatcher>(p => p.GetRequiredService<ScriptHealthChecks>());
        services.AddSingleton<IScriptHealth>(p => p.GetRequiredService<ScriptHealthChecks>());
        services.AddSingleton<DataScriptLibrary>();
        services.AddSingleton<CatalogStartup>();
        services.AddSingleton<TaskStore>();
        services.AddSingleton<ITaskRunRules>(p => p.GetRequiredService<TaskStore>());
        services.AddSingleton<AkshareWeb.Features.Data.BackfillRuns>();
        services.AddSingleton<AkshareWeb.Features.Data.TaskBackfill>();
        services.AddSingleton<IRunFollowUp>(p => p.GetRequiredService<AkshareWeb.Features.Data.TaskBackfill>());
        services.AddExecutionRunners(configuration);
        services.AddHostedService<PartsPump>();
        services.AddSingleton<ExecutionDispatcher>();
        services.AddSingleton<ExecutionRetries>();
        services.AddSingleton<RunNotices>();
        services.AddTransient<ExecutionJob>();
        services.AddHostedService<ExecutionWatchdog>();
        services.AddHostedService<ExecutionPruner>();
        services.AddSingleton<ScheduleRegistrar>();
        services.AddSingleton<OwnerTasks>();
        services.AddSingleton<TaskLauncher>();
        services.AddTransient<DueTaskJob>();
        services.AddSingleton<AkshareWeb.Features.Tables.ManagedTables>();
        services.AddSingleton<AkshareWeb.Features.Tables.TableReadCache>();
        services.AddSingleton<AkshareWeb.Features.Tables.TableWarmer>();
        services.Configure<AkshareWeb.Features.Tables.TableOptions>(configuration.GetSection(AkshareWeb.Features.Tables.TableOptions.Section));
        services.AddSingleton<AkshareWeb.Features.Tables.SortIndexes>();
        services.AddSingleton<AkshareWeb.Features.Tables.AdjustedPrices>();
        services.AddHostedService<AkshareWeb.Features.Tables.TableWarmup>();
        services.AddTradingCalendar();
        services.Configure<CalendarTaskOptions>(configuration.GetSection(CalendarTaskOptions.Section));
        services.AddSingleton<CalendarTask>();
        services.AddSingleton<AkshareWeb.Features.Warehouse.ConfirmedEmptyDays>();
        services.AddSingleton<AkshareWeb.Features.Tables.CoverageReader>();
        services.AddSingleton<AkshareWeb.Features.Tables.BackfillMarks>();
        services.AddSingleton<AkshareWeb.Features.Tables.CoverageSummaries>();
        services.AddHostedService<AkshareWeb.Features.Tables.CoverageKeeper>();
        services.Configure<AkshareWeb.Features.Tables.HealthOptions>(configuration.GetSection(AkshareWeb.Features.Tables.HealthOptions.Section));
        services.AddSingleton<AkshareWeb.Features.Tables.HealthStore>();
        services.AddSingleton<AkshareWeb.Features.Tables.TableHealth>();
        services.AddSingleton<AkshareWeb.Features.Tables.IMoveExplanation, AkshareWeb.Features.Tables.FactorMoveExplanation>();
        services.AddHostedService<AkshareWeb.Features.Tables.HealthKeeper>();
        return services;
    }
}
