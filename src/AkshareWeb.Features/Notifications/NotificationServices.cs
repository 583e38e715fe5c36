using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MySqlConnector;

namespace AkshareWeb.Features.Notifications;

/// <summary>The notifications area: its options, the publish side, the guarded HTTP client and the delivery worker.</summary>
public static class NotificationServices
{
    public static IServiceCollection AddNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<NotificationOptions>(configuration.GetSection(NotificationOptions.Section));
        // The hosts the service itself talks to are refused like internal addresses even when they are public: AKTools
        // runs code for whoever reaches it, and the databases hold everything.
        services.PostConfigure<NotificationOptions>(o => o.InternalHosts.AddRange(ServiceHosts(configuration)));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HostResolver>();
        services.AddSingleton<TargetGuard>();
        services.AddSingleton<DeliverySignal>();
        services.AddSingleton<Notifier>();
        services.AddSingleton<ChannelStore>();
        services.AddSingleton<DeliveryQueue>();
        services.AddSingleton<EmailSender>();
        services.AddSingleton<ChannelSender>();
        services.AddSingleton<DeliveryWorker>();
        services.AddHostedService(provider => provider.GetRequiredService<DeliveryWorker>());
        // No logging handlers: they would write each request's URL, and a robot's URL is its credential.
        services.AddHttpClient(NotificationHttp.ClientName)
            .ConfigurePrimaryHttpMessageHandler(provider => NotificationHttp.Handler(provider.GetRequiredService<TargetGuard>()))
            .RemoveAllLoggers();
        return services;
    }

    private static IEnumerable<string> ServiceHosts(IConfiguration configuration)
    {
        if (Uri.TryCreate(configuration["AkTools:BaseUrl"] ?? "http://127.0.0.1:8080", UriKind.Absolute, out var akTools)) yield return akTools.IdnHost;
        foreach (var name in new[] { "AkshareWeb", "Warehouse" })
        {
            if (configuration.GetConnectionString(name) is not { Length: > 0 } connectionString) continue;
            MySqlConnectionStringBuilder builder;
            try
            {
                builder = new MySqlConnectionStringBuilder(connectionString);
            }
            catch (ArgumentException)
            {
                continue;
            }

            foreach (var host in builder.Server.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) yield return host;
        }
    }
}
