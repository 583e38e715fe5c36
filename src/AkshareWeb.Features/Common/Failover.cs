using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>
/// What the loss of a database node, or a transaction that lost Galera's certification, looks like to a client, and
/// how a unit of work is repeated through it. On a Galera cluster a node that dies takes the connections to it along
/// (the next ones go to the next node of the connection string); a transaction that wrote rows another node wrote at
/// the same moment is rolled back at COMMIT with error 1213, as a deadlock is on one server. Either way the work was
/// not done, or its outcome is unknown: the caller repeats it whole, as the first attempt would have done it, on a
/// connection opened afresh. Delays between attempts are real time (they wait for a database, not for a business
/// clock), growing from 100 ms to 2 s, for <see cref="Database.Patience"/> at most.
/// </summary>
public static class Failover
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestDelay = TimeSpan.FromSeconds(2);

    /// <summary>A conflict a repeat resolves: a certification failure or a deadlock (1213). (A lock wait time-out is
    /// not one: it already waited, for as long as the session allows.)</summary>
    public static bool IsConflict(Exception error) =>
        Causes(error).Any(e => e is MySqlException { ErrorCode: MySqlErrorCode.LockDeadlock or MySqlErrorCode.XARBDeadlock });

    /// <summary>
    /// The database (this node of it) is not there: no connection could be made, the connection broke under a
    /// statement, the server is shutting down or killed the session, or the node is not (yet) a synced member of
    /// the cluster (1047, "WSREP has not yet prepared node for application use").
    /// </summary>
    public static bool IsUnavailable(Exception error) => Causes(error).Any(e => e switch
    {
        // 1927: MariaDB's "connection was killed"; 2006 and 2013: the server went away, the connection was lost.
        MySqlException m => m.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.UnknownCommand or MySqlErrorCode.ServerShutdown
            or MySqlErrorCode.ConnectionCountError or MySqlErrorCode.TooManyUserConnections
            || (int)m.ErrorCode is 1927 or 2006 or 2013 || OutOfPrimaryComponent(m),
        IOException or SocketException => ThroughMySqlConnector(e),
        // MySqlConnector's word for a connection that broke earlier and is used again.
        InvalidOperationException i => i.Source == "MySqlConnector" && (i.Message.Contains("Broken", StringComparison.Ordinal) || i.Message.Contains("Failed", StringComparison.Ordinal)),
        _ => false,
    });

    /// <summary>Worth repeating: <see cref="IsConflict"/> or <see cref="IsUnavailable"/>.</summary>
    public static bool IsTransient(Exception error) => IsConflict(error) || IsUnavailable(error);

    /// <summary>
    /// Runs <paramref name="work"/>, and again after a transient failure (<see cref="IsTransient"/>) until it succeeds
    /// or <paramref name="patience"/> has passed since the first failure; then, or on any other failure, the exception
    /// is the caller's. <paramref name="recover"/> runs between attempts (to reopen a connection, read again what
    /// the failed attempt may have changed); a transient failure there counts as one more failed attempt.
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> work, TimeSpan patience, CancellationToken ct,
        Func<Exception, CancellationToken, Task>? recover = null, ILogger? logger = null, string? what = null)
    {
        // Counted from the first failure: a long unit of work (a whole run) that fails at its end gets the same patience.
        var watch = new Stopwatch();
        var delay = FirstDelay;
        Exception? last = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (last is not null && recover is not null) await recover(last, ct);
                var result = await work(ct);
                if (attempt > 1) logger?.LogInformation("{What} succeeded at attempt {Attempt}, {Seconds:0.0} s after the first failure", what ?? "A database step", attempt, watch.Elapsed.TotalSeconds);
                return result;
            }
            catch (Exception e) when (IsTransient(e) && !ct.IsCancellationRequested && watch.Elapsed < patience)
            {
                watch.Start();
                if (last is null) logger?.LogWarning("{What} failed ({Error}); repeating it for up to {Patience:0} s", what ?? "A database step", e.Message, patience.TotalSeconds);
                last = e;
            }

            await Task.Delay(Jittered(delay), ct);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestDelay.Ticks));
        }
    }

    /// <inheritdoc cref="RetryAsync{T}"/>
    public static Task RetryAsync(Func<CancellationToken, Task> work, TimeSpan patience, CancellationToken ct,
        Func<Exception, CancellationToken, Task>? recover = null, ILogger? logger = null, string? what = null) =>
        RetryAsync<bool>(async token =>
        {
            await work(token);
            return true;
        }, patience, ct, recover, logger, what);

    /// <summary>
    /// A Galera node that left the primary component for a moment (a view change after another node died) fails the
    /// COMMIT in progress with 1180 and a wsrep message; the same COMMIT succeeds once the cluster has its new view.
    /// </summary>
    private static bool OutOfPrimaryComponent(MySqlException e) =>
        e.ErrorCode == MySqlErrorCode.ErrorDuringCommit
        && (e.Message.Contains("Primary Component", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("wsrep", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("streaming replication", StringComparison.OrdinalIgnoreCase));

    /// <summary>A socket's failure on the way to the database, not a file's or a client's.</summary>
    private static bool ThroughMySqlConnector(Exception e) =>
        e.Source == "MySqlConnector" || (e.StackTrace?.Contains("MySqlConnector.", StringComparison.Ordinal) ?? false);

    /// <summary>Two instances that failed together do not come back in step.</summary>
    private static TimeSpan Jittered(TimeSpan delay) => delay * (0.75 + (Random.Shared.NextDouble() * 0.5));

    private static IEnumerable<Exception> Causes(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Causes)) yield return inner;
                yield break;
            }

            yield return e;
        }
    }
}
