using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AkshareWeb.Features.Common;

/// <summary>
/// A background service that does one round of its work, waits, and goes again until the host stops. .NET's host
/// stops as soon as a <see cref="BackgroundService"/> throws, taking every run in progress with it, and loops that each
/// kept their own catch blocks drifted apart (two let a reset socket through). So the rule lives here, once: only a
/// stop request ends the loop. A failure the loop expects (the database away, see <see cref="IsOutage"/>) is logged at
/// <see cref="OutageLevel"/>, anything else at Error; each is said once until a round works again, not at every round
/// of a long outage.
/// </summary>
public abstract class BackgroundLoop(TimeProvider time, ILogger logger) : BackgroundService
{
    private PeriodicTimer? timer;

    /// <summary>The clock the loop's interval runs on, for the loop's own use as well.</summary>
    protected TimeProvider Time { get; } = time;

    /// <summary>An unexpected failure was logged since the last round that worked (an outage before it does not hide it).</summary>
    private bool saidError;

    /// <summary>True from a failed round until a round works again.</summary>
    protected bool Failing { get; private set; }

    /// <summary>What the loop does, for its log lines: "Sending notifications".</summary>
    protected abstract string Work { get; }

    /// <summary>The time between rounds; <see cref="Timeout.InfiniteTimeSpan"/> for a loop that runs once.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>The level an expected failure is logged at; the rest are errors.</summary>
    protected virtual LogLevel OutageLevel => LogLevel.Warning;

    /// <summary>Whether the first round waits an interval too, instead of starting at once.</summary>
    protected virtual bool WaitsBeforeFirstRound => false;

    /// <summary>One round of the work.</summary>
    protected abstract Task RoundAsync(CancellationToken ct);

    /// <summary>Waits until the next round is due (by default the next tick of <see cref="Interval"/>); false ends the loop.</summary>
    protected virtual async Task<bool> NextRoundAsync(CancellationToken ct) => timer is not null && await timer.WaitForNextTickAsync(ct);

    /// <summary>A failure that comes and goes with the database, and is no bug of the loop.</summary>
    protected virtual bool IsOutage(Exception e) => Database.IsOutage(e) || Failover.IsUnavailable(e);

    /// <summary>Called after a failed round, once it is logged.</summary>
    protected virtual void Failed(Exception e)
    {
    }

    /// <summary>Called once the loop has ended, before the service counts as stopped.</summary>
    protected virtual Task EndedAsync() => Task.CompletedTask;

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var ticks = Interval == Timeout.InfiniteTimeSpan ? null : new PeriodicTimer(Interval, Time);
        timer = ticks;
        try
        {
            if (WaitsBeforeFirstRound && !await NextRoundAsync(stoppingToken)) return;
            do
            {
                await OneRoundAsync(stoppingToken);
            }
            while (!stoppingToken.IsCancellationRequested && await NextRoundAsync(stoppingToken));
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: whatever the interrupted round threw (a cancelled command, a closed connection) ends it quietly.
        }
        finally
        {
            timer = null;
            await EndedAsync();
        }
    }

    private async Task OneRoundAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RoundAsync(stoppingToken);
            if (Failing) logger.LogInformation("{Work} works again", Work);
            Failing = false;
            saidError = false;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            var again = Interval == Timeout.InfiniteTimeSpan ? "" : "; it is tried again at the next round";
            if (IsOutage(e))
            {
                if (!Failing) logger.Log(OutageLevel, e, "{Work} failed{Again}", Work, again);
            }
            else if (!saidError)
            {
                logger.LogError(e, "{Work} failed unexpectedly{Again}", Work, again);
                saidError = true;
            }

            Failing = true;
            Failed(e);
        }
    }
}
