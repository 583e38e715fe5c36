using AkshareWeb.Features.Executions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Tests.Executions;

/// <summary>Execution settings moved from the Scheduler section to Executions; existing configurations keep working.</summary>
public sealed class ExecutionOptionsTests
{
    private static ExecutionOptions Bound(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        using var provider = new ServiceCollection().AddExecutionRunners(configuration).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<ExecutionOptions>>().Value;
    }

    [Fact]
    public void The_old_scheduler_keys_still_take_effect()
    {
        var options = Bound(new()
        {
            ["Scheduler:RetryBaseDelaySeconds"] = "7",
            ["Scheduler:StaleExecutionSeconds"] = "11",
            ["Scheduler:WatchdogIntervalSeconds"] = "3",
        });
        Assert.Equal((7, 11, 3), (options.RetryBaseDelaySeconds, options.StaleExecutionSeconds, options.WatchdogIntervalSeconds));
    }

    [Fact]
    public void An_executions_key_wins_over_the_old_one_and_the_rest_keep_their_defaults()
    {
        var options = Bound(new()
        {
            ["Scheduler:StaleExecutionSeconds"] = "11",
            ["Executions:StaleExecutionSeconds"] = "45",
        });
        Assert.Equal((30, 45, 15), (options.RetryBaseDelaySeconds, options.StaleExecutionSeconds, options.WatchdogIntervalSeconds));
    }
}
