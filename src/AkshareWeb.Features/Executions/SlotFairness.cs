using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Executions;

/// <summary>The slots a task's run is claimed under: max_concurrent_tasks, and how many of them one ordinary user's
/// manual runs may hold (user_max_slots_percent of them).</summary>
public readonly record struct SlotLimit(int Slots, int UserSlots);

/// <summary>
/// Who gets a free slot when several users' runs wait, decided inside the claim (<see cref="ExecutionStore.ClaimAsync"/>),
/// under the server lock that grants slots, from the executions table, so every instance decides alike:
/// <list type="bullet">
/// <item>Runs come in two classes: first the schedule's (and automatic retries, both made under a schedule key) and
/// every run of an admin or of no user; then ordinary users' manual runs and retries. A manual run is not claimed while
/// a run of the first class waits, so a freed slot goes to the schedule and admins first.</item>
/// <item>An ordinary user's manual runs hold at most <see cref="SlotLimit.UserSlots"/> slots, even with no one else
/// waiting: the slots left over are where another user's run starts at once instead of after the first user's runs end.</item>
/// <item>Among users waiting in the same class, the slot goes to whoever runs fewest task runs now: a run is not
/// claimed while another user's run of its class waits and that user runs fewer (round robin between users).</item>
/// </list>
/// A run waits when it is pending and its job looked at it lately (<see cref="WaitingWindow"/>): a retry still in its
/// backoff, or a run whose job has not reached a worker yet, takes no turn from anyone.
/// </summary>
public static class SlotFairness
{
    /// <summary>A pending run whose job has not looked at it for this long is not counted as waiting. Its job looks
    /// every quarter second.</summary>
    public static readonly TimeSpan WaitingWindow = TimeSpan.FromSeconds(10);

    /// <summary>Task runs running or waiting, by user (0: none) and class.</summary>
    /// <remarks>Properties, not a constructor: Dapper converts the database's integer types (INT on MariaDB, BIGINT on
    /// MySQL for the same CAST) to a property's type.</remarks>
    public sealed class Group
    {
        public long UserKey { get; init; }
        public bool IsRunning { get; init; }
        public bool IsPriority { get; init; }
        public long Runs { get; init; }
    }

    /// <summary>The run that asks for a slot: its user (0: none) and class; null when it is no longer pending.</summary>
    public sealed class Asking
    {
        public long UserKey { get; init; }
        public bool IsPriority { get; init; }
    }

    /// <summary>First-class runs: under a schedule key (the schedule's, automatic retries), of no user, of an admin.</summary>
    private const string Priority = "CAST(e.schedule_key IS NOT NULL OR e.user_id IS NULL OR COALESCE(u.role = 'admin', 0) AS SIGNED)";

    public static async Task<Asking?> AskingAsync(MySqlConnection connection, string executionId, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<Asking>(new CommandDefinition($"""
            SELECT CAST(COALESCE(e.user_id, 0) AS SIGNED) AS UserKey, {Priority} AS IsPriority
            FROM executions e LEFT JOIN users u ON u.id = e.user_id
            WHERE e.execution_id = @executionId AND e.status = @pending
            """, new { executionId, pending = ExecutionStatuses.Pending }, cancellationToken: ct));

    public static async Task<IReadOnlyList<Group>> GroupsAsync(MySqlConnection connection, DateTime now, CancellationToken ct) =>
        (await connection.QueryAsync<Group>(new CommandDefinition($"""
            SELECT CAST(COALESCE(e.user_id, 0) AS SIGNED) AS UserKey, CAST(e.status = @running AS SIGNED) AS IsRunning, {Priority} AS IsPriority, COUNT(*) AS Runs
            FROM executions e LEFT JOIN users u ON u.id = e.user_id
            WHERE e.task_id IS NOT NULL
              AND (e.status = @running OR (e.status = @pending AND e.cancel_requested = 0 AND e.heartbeat_at >= @waitingSince))
            GROUP BY UserKey, IsRunning, IsPriority
            """, new { running = ExecutionStatuses.Running, pending = ExecutionStatuses.Pending, waitingSince = now - WaitingWindow },
            cancellationToken: ct))).ToList();

    /// <summary>Null when the run may take the slot; otherwise why it waits (for the log).</summary>
    public static string? Refusal(Asking asking, IReadOnlyList<Group> groups, SlotLimit limit)
    {
        var running = groups.Where(g => g.IsRunning).ToList();
        if (running.Sum(g => g.Runs) >= limit.Slots) return "every slot is taken";

        long RunningOf(long user) => running.Where(g => g.UserKey == user).Sum(g => g.Runs);
        long ManualRunningOf(long user) => running.Where(g => g.UserKey == user && !g.IsPriority).Sum(g => g.Runs);
        var mine = RunningOf(asking.UserKey);
        var waiting = groups.Where(g => !g.IsRunning && g.UserKey != asking.UserKey).ToList();
        if (!asking.IsPriority)
        {
            if (groups.Any(g => !g.IsRunning && g.IsPriority)) return "a scheduled or admin run waits";
            if (ManualRunningOf(asking.UserKey) >= limit.UserSlots) return $"the user's manual runs hold {limit.UserSlots} slots already";
            // Another user whose manual runs are at their own cap cannot take the slot: it is not kept for them.
            if (waiting.Any(g => !g.IsPriority && ManualRunningOf(g.UserKey) < limit.UserSlots && RunningOf(g.UserKey) < mine))
            {
                return "another user with fewer runs waits";
            }

            return null;
        }

        return waiting.Any(g => g.IsPriority && RunningOf(g.UserKey) < mine) ? "another user with fewer runs waits" : null;
    }

    /// <summary>The run's job looked at it now: it counts as waiting for a while.</summary>
    public static Task StillWaitingAsync(MySqlConnection connection, string executionId, DateTime now, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            "UPDATE executions SET heartbeat_at = @now WHERE execution_id = @executionId AND status = @pending",
            new { now, executionId, pending = ExecutionStatuses.Pending }, cancellationToken: ct));
}
