using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The engine and the runners, registered once for the app and for the benchmarks alike, so a benchmark runs
/// what the app runs. The app adds the jobs and background services around them (Setup/Collection.cs);
/// AkToolsClient comes from whoever hosts it, with its HTTP client.
/// </summary>
public static class ExecutionServices
{
    public static IServiceCollection AddExecutionRunners(this IServiceCollection services, IConfiguration configuration)
    {
        // The old Scheduler:* keys first, then Executions:* over them.
        services.Configure<ExecutionOptions>(configuration.GetSection(ExecutionOptions.LegacySection));
        services.Configure<ExecutionOptions>(configuration.GetSection(ExecutionOptions.Section));
        services.Configure<PartsOptions>(configuration.GetSection(PartsOptions.Section));
        services.Configure<SiteRateOptions>(configuration.GetSection(SiteRateOptions.Section));
        services.Configure<BanOptions>(configuration.GetSection(BanOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AkshareMetrics>();
        services.TryAddSingleton<TableChanges>();
        services.TryAddSingleton<WarehouseTables>();
        // The app registers Tasks' and Scripts' answers; a host without them (the benchmarks) gets these.
        services.TryAddSingleton<ITaskRunRules, NoTaskRunRules>();
        services.TryAddSingleton<IRunFollowUp, NoRunFollowUp>();
        services.TryAddSingleton<IScriptHealth, NoScriptHealth>();
        services.TryAddSingleton<ParameterBinder>();
        services.AddSingleton<WarehouseWriter>();
        services.AddSingleton<ExecutionStore>();
        services.AddSingleton<ExecutionReads>();
        services.AddSingleton<ExecutionRecovery>();
        services.AddSingleton<PartStore>();
        services.AddSingleton<InstanceStore>();
        services.AddSingleton<CallStore>();
        services.AddSingleton<RunningExecutions>();
        services.AddSingleton<ExecutionSlots>();
        services.AddSingleton<RunTimeouts>();
        services.AddSingleton<RunAdmission>();
        services.AddSingleton<RunEnding>();
        services.AddTransient<ExecutionRunner>();
        services.AddSingleton<ValueSources>();
        services.AddSingleton<SitePauses>();
        services.AddSingleton<SiteRates>();
        services.AddAkToolsResilience();
        services.AddSingleton<PartParticipations>();
        services.AddSingleton<PartsQuota>();
        services.AddTransient<PartRunner>();
        services.AddTransient<SingleRun>();
        services.AddTransient<PartedRun>();
        return services;
    }
}
