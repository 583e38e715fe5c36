using System.Net.Sockets;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Tests.Executions;

/// <summary>What stopped a run, as the status and message its record gets; no database involved.</summary>
public sealed class RunFailuresTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_cancel_asked_for_by_a_user_ends_cancelled() =>
        Assert.Equal(new RunFailure("cancelled", "cancelled while running"),
            RunFailures.Of(new OperationCanceledException(), RunStop.Cancelled, Timeout));

    [Fact]
    public void The_service_stopping_under_a_run_fails_it_as_interrupted() =>
        Assert.Equal(new RunFailure("failed", "interrupted: the service stopped while the run was in progress"),
            RunFailures.Of(new TaskCanceledException(), RunStop.ServiceStopping, Timeout));

    [Fact]
    public void A_run_past_its_timeout_ends_timeout_naming_the_limit() =>
        Assert.Equal(new RunFailure("timeout", "did not finish within 30 s"),
            RunFailures.Of(new OperationCanceledException(), RunStop.TimedOut, Timeout));

    [Fact]
    public void An_AKTools_failure_fails_the_run_with_its_message() =>
        Assert.Equal(new RunFailure("failed", "AKTools answered 500"),
            RunFailures.Of(new AkToolsException("AKTools answered 500"), RunStop.TimedOut, Timeout));

    [Fact]
    public void A_refused_plan_fails_the_run_with_its_reason() =>
        Assert.Equal(new RunFailure("failed", "the data script x is broken: gone"),
            RunFailures.Of(new InvalidOperationException("the data script x is broken: gone"), RunStop.TimedOut, Timeout));

    [Fact]
    public void A_broken_connection_reads_as_the_database_stopping() =>
        Assert.Equal(new RunFailure("failed", "the database stopped answering during the run: reset"),
            RunFailures.Of(new IOException("reset"), RunStop.TimedOut, Timeout));

    [Fact]
    public void A_socket_error_reads_as_the_database_stopping() =>
        Assert.Equal("the database stopped answering during the run: " + new SocketException(104).Message,
            RunFailures.Of(new SocketException(104), RunStop.TimedOut, Timeout).Message);

    [Fact]
    public void Anything_else_fails_as_an_internal_error_worth_logging() =>
        Assert.Equal(new RunFailure("failed", "internal error: boom", Unexpected: true),
            RunFailures.Of(new ArgumentException("boom"), RunStop.TimedOut, Timeout));
}
