using Dapper;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>What the tests of slots and quotas wait for: the statuses of several runs at one look, and when each last
/// asked for a slot (its job marks heartbeat_at at each refusal while it waits).</summary>
public static class RunStates
{
    public static async Task<Dictionary<string, (string Status, DateTime? Asked)>> RunStatesAsync(this AkshareWebApp app, IEnumerable<string> executionIds)
    {
        await using var db = await app.OpenDatabaseAsync();
        var ids = executionIds.ToArray();
        return (await db.QueryAsync<(string Id, string Status, DateTime? Asked)>(
                "SELECT execution_id, status, heartbeat_at FROM executions WHERE execution_id IN @ids", new { ids }))
            .ToDictionary(r => r.Id, r => (r.Status, r.Asked), StringComparer.Ordinal);
    }

    /// <summary>
    /// Waits for the runs' statuses to be these, all at one look. A pending run must also have asked for a slot and been
    /// refused, so "pending" means "waiting its turn", not "its job has not started yet". On the app's real clock
    /// (<paramref name="clock"/> null) once is enough. On a clock the test moves, a refused run asks again a quarter second
    /// later on that clock, so it must have asked since the clock last moved ("refused with what the test sees"), and
    /// unless <paramref name="moveClock"/> is false each look that does not find them moves the clock on by a quarter
    /// second. The deadline only ends a test that went wrong.
    /// </summary>
    public static async Task UntilRunsAsync(this AkshareWebApp app, IReadOnlyDictionary<string, string> expected, FakeTimeProvider? clock = null,
        bool moveClock = true, int seconds = 60)
    {
        var deadline = Deadline.In(seconds);
        while (true)
        {
            var now = clock?.GetUtcNow().UtcDateTime ?? DateTime.MinValue;
            var seen = await app.RunStatesAsync(expected.Keys);
            bool Asked(DateTime? at) => at is not null && at >= now;
            if (expected.All(e => seen.TryGetValue(e.Key, out var s) && s.Status == e.Value && (e.Value != "pending" || Asked(s.Asked)))) return;
            var notAsked = clock is null ? " (not asked yet)" : " (not asked since the clock moved)";
            Assert.False(deadline.Passed,
                $"expected {string.Join(", ", expected.Select(e => $"{e.Key[^6..]}={e.Value}"))}; seen {string.Join(", ", seen.Select(e => $"{e.Key[^6..]}={e.Value.Status}{(Asked(e.Value.Asked) ? "" : notAsked)}"))}");
            if (clock is not null && moveClock) clock.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(100);
        }
    }
}
