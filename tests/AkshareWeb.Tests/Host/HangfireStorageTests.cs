using AkshareWeb.Api.Setup;
using AkshareWeb.Features.Common;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// Hangfire's configuration is static, one for the process, and its container registration hands out JobStorage.Current:
/// two hosts in one process (a second instance, the tests' fixtures, the two client flows starting at once) must each
/// keep their jobs in their own database whichever configured Hangfire last, or a host's runs are queued where only
/// the other host looks, and stay pending for ever.
/// </summary>
public sealed class HangfireStorageTests
{
    private static ServiceProvider Host(string connectionString)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:AkshareWeb"] = connectionString }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<Database>();
        services.AddLogging();
        services.AddAkshareWebScheduling(configuration);
        return services.BuildServiceProvider();
    }

    private static async Task<long> JobsAsync(string connectionString)
    {
        await using var db = new MySqlConnection(connectionString);
        return await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM hangfire_job");
    }

    [Fact]
    public async Task Each_host_queues_its_jobs_in_its_own_database_whichever_configured_hangfire_last()
    {
        var first = await TestDatabase.CreateAsync();
        var second = await TestDatabase.CreateAsync();
        try
        {
            await using var one = Host(first);
            await using var other = Host(second);
            // The first host configures Hangfire; the second configures it after, and takes its storage; only then does
            // the first ask for its own (its first download's job client, or its start overtaken by the other's).
            _ = one.GetRequiredService<IGlobalConfiguration>();
            var otherStorage = other.GetRequiredService<JobStorage>();
            var storage = one.GetRequiredService<JobStorage>();

            Assert.NotSame(otherStorage, storage);
            Assert.Contains("/" + new MySqlConnectionStringBuilder(first).Database + " ", storage.ToString(), StringComparison.Ordinal);
            one.GetRequiredService<IBackgroundJobClient>().Create(Job.FromExpression(() => Console.WriteLine()), new ScheduledState(TimeSpan.FromDays(1)));
            Assert.Equal(1, await JobsAsync(first));
            Assert.Equal(0, await JobsAsync(second));
        }
        finally
        {
            await TestDatabase.DropAsync(first);
            await TestDatabase.DropAsync(second);
        }
    }
}
