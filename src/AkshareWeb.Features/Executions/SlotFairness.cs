using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Accounts;

namespace AkshareWeb.Features.Executions;

/// <summary>The slots a task's run is admitted under: max_concurrent_tasks, and how many of them one ordinary user's
/// manual runs may hold (user_max_slots_percent of them).</summary>
public readonly record struct SlotLimit(int Slots, int UserSlots);

/// <summary>
/// Who gets a free slot when several users' runs wait, asked by <see cref="RunAdmission"/> under the lock that grants
/// slots, from the executions table, so every instance decides alike:
/// <list type="bullet">
/// <item>Runs come in two classes: first the schedule's (and automatic retries, both made under a schedule key) and
/// every run of an admin or of no user; then ordinary users' manual runs and retries. A manual run is not admitted while
/// a run of the first class waits, so a freed slot goes to the schedule and admins first.</item>
/// <item>An ordinary user's manual runs hold at most <see cref="SlotLimit.UserSlots"/> slots, even with no one else
/// waiting: the slots left over are where another user's run starts at once instead of after the first user's end.</item>
/// <item>Among users waiting in the same class, the slot goes to whoever runs fewest task runs now: a run is not
/// admitted while another user's run of its class waits and that user runs fewer (round robin between users).</item>
/// </list>
/// A run waits when it is pending and its job asked for a slot lately (<see cref="WaitingWindow"/>, marked by
/// <see cref="ExecutionStore.WaitingAsync"/> at each refusal): a retry still in its backoff, or a run whose job has not
/// reached a worker yet, takes no turn from anyone, and neither does a run whose job died with its instance.
/// </summary>
public static class SlotFairness
{
    /// <summary>A pending run whose job has not asked for this long is not counted as waiting. Its job asks every
    /// quarter second; the window leaves room for a loaded database and for the 10 s a turn may wait for the lock.</summary>
    public static readonly TimeSpan WaitingWindow = TimeSpan.FromSeconds(30);

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

    /// <summary>The run that asks for a slot: its user (0: none) and class.</summary>
    public sealed class Asking
    {
        public long UserKey { get; init; }
        public bool IsPriority { get; init; }
    }

    /// <summary>First-class runs: under a schedule key (the schedule's, automatic retries), of no user, of an admin.</summary>
    private const string Priority = "CAST(e.schedule_key IS NOT NULL OR e.user_id IS NULL OR e.user_id IN @admins AS SIGNED)";

    /// <summary>Null when the run may take a slot now; otherwise why it waits. Null too when the run is no longer
    /// pending: its claim then finds nothing to start.</summary>
    public static async Task<string?> RefusalAsync(MySqlConnection connection, string executionId, SlotLimit limit, DateTime now, CancellationToken ct)
    {
        var admins = await UserAccounts.ActiveAdminIdsAsync(connection, null, ct);
        var asking = await connection.QuerySingleOrDefaultAsync<Asking>(new CommandDefinition($"""
            SELECT CAST(COALESCE(e.user_id, 0) AS SIGNED) AS UserKey, {Priority} AS IsPriority
            FROM executions e WHERE e.execution_id = @executionId AND e.status = @pending
            """, new { executionId, pending = ExecutionStatuses.Pending, admins }, cancellationToken: ct));
        if (asking is null) return null;
        var groups = (await connection.QueryAsync<Group>(new CommandDefinition($"""
            SELECT CAST(COALESCE(e.user_id, 0) AS SIGNED) AS UserKey, CAST(e.status = @running AS SIGNED) AS IsRunning, {Priority} AS IsPriority, COUNT(*) AS Runs
            FROM executions e
            WHERE e.task_id IS NOT NULL AND e.execution_id <> @executionId
              AND (e.status = @running OR (e.status = @pending AND e.cancel_requested = 0 AND e.heartbeat_at >= @waitingSince))
            GROUP BY UserKey, IsRunning, IsPriority
            """, new { executionId, running = ExecutionStatuses.Running, pending = ExecutionStatuses.Pending, waitingSince = now - WaitingWindow, admins },
            cancellationToken: ct))).ToList();
        return Refusal(asking, groups, limit);
    }

    /// <summary>Null when the run may take the slot; otherwise why it waits.</summary>
    public static string? Refusal(Asking asking, IReadOnlyList<Group> groups, SlotLimit limit)
    {
        var running = groups.Where(g => g.IsRunning).ToList();
        if (running.Sum(g => g.Runs) >= limit.Slots) return "every slot is taken";

        long RunningOf(long user) => running.Where(g => g.UserKey == user).Sum(g => g.Runs);
        long ManualRunningOf(long user) => running.Where(g => g.UserKey == user && !g.IsPriority).Sum(g => g.Runs);
        var mine = RunningOf(asking.UserKey);
        var waiting = groups.Where(g => !g.IsRunning && g.UserKey != asking.UserKey).ToList();
        if (asking.IsPriority)
        {
            return waiting.Any(g => g.IsPriority && RunningOf(g.UserKey) < mine) ? "another user's scheduled or admin run waits, and that user runs fewer" : null;
        }

        if (groups.Any(g => !g.IsRunning && g.IsPriority)) return "a scheduled or admin run waits";
        if (ManualRunningOf(asking.UserKey) >= limit.UserSlots) return $"the user's manual runs hold {limit.UserSlots} slots already (user_max_slots_percent)";
        // Another user whose manual runs are at their own share cannot take the slot: it is not kept for them.
        return waiting.Any(g => !g.IsPriority && ManualRunningOf(g.UserKey) < limit.UserSlots && RunningOf(g.UserKey) < mine)
            ? "another user with fewer runs waits"
            : null;
    }
}
