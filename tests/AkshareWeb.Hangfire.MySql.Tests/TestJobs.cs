using System.Collections.Concurrent;
using Hangfire.Common;

namespace AkshareWeb.Hangfire.MySql.Tests;

public static class TestJobs
{
    public static void Noop(string tag) => _ = tag;

    public static Job NoopJob(string tag = "x", string? queue = null)
        => queue is null ? Job.FromExpression(() => Noop(tag)) : Job.FromExpression(() => Noop(tag), queue);
}
