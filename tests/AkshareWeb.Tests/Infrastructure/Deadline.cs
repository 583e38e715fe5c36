using System.Diagnostics;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>
/// A test's deadline on the monotonic clock. This machine's VM can be paused and resumed, and its wall clock then
/// jumps forward: a deadline on <see cref="DateTime.UtcNow"/> ended a 30-second wait after 4 seconds.
/// </summary>
public readonly struct Deadline
{
    private readonly long end;

    private Deadline(long end) => this.end = end;

    public static Deadline In(double seconds) =>
        new(Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency));

    public bool Passed => Stopwatch.GetTimestamp() > end;
}
