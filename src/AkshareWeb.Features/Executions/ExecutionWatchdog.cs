using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Finds runs whose worker died (process killed, machine lost): still 'running' but with no heartbeat for
/// longer than the stale limit. Each instance looks; SKIP LOCKED lets them share the work without taking a run
/// twice. A dead run is marked failed, with the reason, and retried (or its range backfilled) if its task asks for it; its partial writes
/// cannot duplicate rows because every row is keyed by _row_key.
/// <para>A stale heartbeat is not enough when the database itself stopped answering: every run's heartbeat stops
/// then, and the workers are alive. So the runs this instance holds (<see cref="RunningExecutions"/>) are never
/// taken, and after the watchdog itself lost the database, runs of other instances are judged only once the
/// database has answered for a whole stale period again: a live worker has beaten its heartbeat by then.</para>
/// <para>An instance may also lose the database alone (its network, its proxy) while the others keep it: their
/// watchdogs saw no outage, and its runs' heartbeats stop. So each watchdog also beats its instance's row in
/// execution_instances, and a stale run of another instance is taken for dead only once that instance has been
/// silent for <see cref="ExecutionOptions.InstanceTimeoutSeconds"/> (5 minutes, as Hangfire judges its servers) or
/// is unknown or stopped cleanly. The price: a crashed instance's runs are failed after that longer wait.</para>
/// </summary>
public sealed class ExecutionWatchdog(
    Database database, ExecutionRecovery recovery, InstanceStore instances, CallStore calls, ExecutionRetries retries, IOptions<ExecutionOptions> options, TimeProvider time, ILogger<ExecutionWatchdog> logger,
    RunningExecutions running, PartParticipations participations, RunNotices notices, IRunFollowUp followUp)
    : BackgroundLoop(time, logger)
{
    /// <summary>When the database answered again after the watchdog last saw it fail; null when it never failed.</summary>
    private long? backSince;
    /// <summary>The watchdog's last look lost the database; the next that gets through marks it back.</summary>
    private bool lostDatabase;

    protected override string Work => "Looking for runs whose worker died";

    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.Value.WatchdogIntervalSeconds);

    protected override async Task RoundAsync(CancellationToken ct)
    {
        var dead = await RecoverAsync(ct);
        foreach (var executionId in dead)
        {
            await retries.RetryIfAskedAsync(executionId, ct);
            await followUp.AfterRunAsync(executionId, ct);
        }

        await notices.InstanceLostAsync(dead, ct);
    }

    // After an outage, runs of other instances are judged only a stale period after the database answers again.
    protected override void Failed(Exception e) => lostDatabase |= IsOutage(e);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await instances.LeaveAsync(running.Worker, cancellationToken);
        }
        catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException or OperationCanceledException)
        {
            // Left as it was: the others take the instance for dead once its row has been silent long enough.
            logger.LogDebug(e, "This instance's row in execution_instances was not removed");
        }
    }

    public async Task<IReadOnlyList<string>> RecoverAsync(CancellationToken ct)
    {
        var stale = TimeSpan.FromSeconds(options.Value.StaleExecutionSeconds);
        if (lostDatabase)
        {
            // The first look that gets this far after an outage: the database answers again from now on.
            await using (await database.OpenAsync(ct))
            {
                lostDatabase = false;
                backSince = Time.GetTimestamp();
            }
        }

        await instances.BeatAsync(running.Worker, ct);
        await calls.ForgetAllOldAsync(ct);
        if (backSince is { } back && Time.GetElapsedTime(back) < stale) return [];
        var now = Time.GetUtcNow().UtcDateTime;
        var (dead, freed) = await recovery.RecoverStaleAsync(
            now - stale, now - TimeSpan.FromSeconds(options.Value.InstanceTimeoutSeconds), running.Worker, running.Ids, participations.Ids, ct);
        if (dead.Count > 0) logger.LogWarning("Marked {Count} runs whose worker died as failed: {Executions}", dead.Count, string.Join(", ", dead));
        if (freed > 0) logger.LogWarning("Gave {Count} parts whose runner stopped answering back to pending", freed);
        return dead;
    }
}
