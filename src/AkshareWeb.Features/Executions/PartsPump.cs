using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Every instance looks each second for running parted executions with parts left and joins those it is not in
/// yet: a second instance shares a big run's parts, and after a restart (of one instance or all) the remaining
/// parts continue wherever an instance is up. A run whose participants all vanished after its last part is ended
/// here too. The part's claim under the execution's row lock keeps every part to one runner.
/// </summary>
public sealed class PartsPump(
    ExecutionRecovery recovery, RunTimeouts timeouts, IServiceScopeFactory scopes, PartParticipations participations, IOptions<ExecutionOptions> options,
    TimeProvider time, ILogger<PartsPump> logger) : BackgroundLoop(time, logger)
{
    private readonly List<Task> joined = [];

    protected override string Work => "Looking for parted runs to join";

    protected override TimeSpan Interval => TimeSpan.FromSeconds(1);

    protected override bool WaitsBeforeFirstRound => true;

    protected override async Task RoundAsync(CancellationToken ct)
    {
        joined.RemoveAll(t => t.IsCompleted);
        foreach (var (executionId, taskId) in await OpenRunsAsync(ct))
        {
            if (participations.IsIn(executionId)) continue;
            joined.Add(JoinAsync(executionId, taskId, ct));
        }
    }

    // The runs joined end on the stop request themselves; the service stops once they have.
    protected override Task EndedAsync() => Task.WhenAll(joined);

    private Task<IReadOnlyList<(string ExecutionId, long? TaskId)>> OpenRunsAsync(CancellationToken ct) =>
        recovery.OpenPartedRunsAsync(Time.GetUtcNow().UtcDateTime.AddSeconds(-options.Value.StaleExecutionSeconds), ct);

    private async Task JoinAsync(string executionId, long? taskId, CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            var timeout = await timeouts.ForAsync(taskId, null, ct);
            await using var scope = scopes.CreateAsyncScope();
            var ended = await scope.ServiceProvider.GetRequiredService<PartedRun>().JoinAsync(executionId, timeout, ct);
            if (ended)
            {
                await scope.ServiceProvider.GetRequiredService<ExecutionRetries>().RetryIfAskedAsync(executionId, ct);
                await scope.ServiceProvider.GetRequiredService<IRunFollowUp>().AfterRunAsync(executionId, ct);
                await scope.ServiceProvider.GetRequiredService<RunNotices>().RunEndedAsync(executionId, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (Database.IsOutage(e) || e is InvalidOperationException || Failover.IsUnavailable(e))
        {
            logger.LogWarning(e, "Taking part in execution {ExecutionId} failed", executionId);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogError(e, "Taking part in execution {ExecutionId} failed unexpectedly", executionId);
        }
    }
}
