using System.Net.Sockets;
using MySqlConnector;
using AkshareWeb.Features.Collection;

namespace AkshareWeb.Features.Executions;

/// <summary>Why a run's token was cancelled, as the runner saw it when the run stopped.</summary>
public enum RunStop
{
    /// <summary>A user asked to cancel (the cancel flag the heartbeat reads).</summary>
    Cancelled,
    /// <summary>The service is shutting down under the run.</summary>
    ServiceStopping,
    /// <summary>The task's (or the default) timeout passed.</summary>
    TimedOut,
}

/// <summary>How a run that did not complete ends: the status recorded, the reason a user reads, and whether the
/// cause was unforeseen (worth an error in the log, not only the record).</summary>
public sealed record RunFailure(string Status, string Message, bool Unexpected = false);

/// <summary>
/// Turns what stopped a run into its recorded end. A pure function of the exception and, for a cancellation,
/// of why the run's token was cancelled, so each cause's wording is pinned by a test without a database.
/// </summary>
public static class RunFailures
{
    public static RunFailure Of(Exception error, RunStop stop, TimeSpan? timeout) => error switch
    {
        OperationCanceledException => stop switch
        {
            RunStop.Cancelled => new(ExecutionStatuses.Cancelled, "cancelled while running"),
            RunStop.ServiceStopping => new(ExecutionStatuses.Failed, "interrupted: the service stopped while the run was in progress"),
            _ => new(ExecutionStatuses.Timeout, $"did not finish within {timeout?.TotalSeconds ?? 0:0} s"),
        },
        AkToolsException e => new(ExecutionStatuses.Failed, e.Message),
        MySqlException e => new(ExecutionStatuses.Failed, DatabaseCause(e)),
        InvalidOperationException e => new(ExecutionStatuses.Failed, e.Message),
        IOException or SocketException => new(ExecutionStatuses.Failed, $"the database stopped answering during the run: {error.Message}"),
        // Whatever went wrong, the record must not stay 'running': it ends failed, with the reason.
        _ => new(ExecutionStatuses.Failed, $"internal error: {error.Message}", Unexpected: true),
    };

    /// <summary>
    /// A database failure in words a user can act on, with MySQL's number to look up; the server's own text (table and
    /// column names, SQL, internals) is for the log, which the runner writes with the exception.
    /// </summary>
    public static string DatabaseCause(MySqlException e) =>
        Common.Failover.IsUnavailable(e) || e.ErrorCode is MySqlErrorCode.UnableToConnectToHost || e.InnerException is IOException or SocketException || e.Number == 0
            ? "the database stopped answering during the run"
            : $"{DatabaseSentence(e.Number)} (MySQL error {e.Number}; the service's log has the server's message)";

    private static string DatabaseSentence(int number) => number switch
    {
        1205 => "the table stayed locked by other work (a long export, another write) for too long",
        1213 => "the write met another write on the same rows (a deadlock) and was undone",
        1114 or 1021 or 28 => "the database has no room left for the table",
        1264 or 1292 or 1366 or 1406 => "a value did not fit its column",
        1054 or 1051 or 1146 => "the table or one of its columns was changed by other means while the run wrote",
        1062 => "a row's key was already stored",
        1044 or 1142 or 1227 => "the warehouse account lacks a privilege this write needs",
        _ => "the database refused the write",
    };
}
