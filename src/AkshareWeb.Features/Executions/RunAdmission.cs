using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>How a run waits for its start: a task's run under max_concurrent_tasks, a user's download apart from it.</summary>
public enum RunLane
{
    /// <summary>A task's run (scheduled, started by hand, or a retry of one): it takes one of the max_concurrent_tasks slots.</summary>
    Scheduled,

    /// <summary>A user's download (or its retry): its queue's workers and the user's quota limit it, not the slots.</summary>
    Adhoc,
}

/// <summary>A run claimed for this instance (pending to running), with what it repeats and the time it may take (a
/// parted run's applies to each part; none for the benchmarks).</summary>
public sealed record ClaimedRun(string ExecutionId, ExecutionPlan Plan, TimeSpan? Timeout);

/// <summary>The answer to "may this run start now".</summary>
public abstract record Admission
{
    private Admission()
    {
    }

    /// <summary>There is room: the run is claimed and holds its place (its slot, and this instance's hold on it,
    /// <see cref="RunningExecutions"/>) until disposed.</summary>
    public sealed record Room(ClaimedRun Run, IAsyncDisposable Place) : Admission, IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Place.DisposeAsync();
    }

    /// <summary>No room yet, and why: the run is still pending, holds nothing, and asks again shortly.</summary>
    public sealed record NoRoom(string Reason) : Admission;

    /// <summary>The run is not pending (cancelled, taken by another worker, ended) or unknown: nothing to start.</summary>
    public sealed record Gone : Admission;

    public static readonly Admission Nothing = new Gone();
}

/// <summary>
/// The one place that answers "may this run start now", for every run whatever started it.
/// <para>A download (<see cref="RunLane.Adhoc"/>) starts at once: its quota was taken when it was asked for
/// (<see cref="AdhocQuota"/>), and its queue's workers bound how many run.</para>
/// <para>A task's run (<see cref="RunLane.Scheduled"/>) needs a slot under max_concurrent_tasks, read at each try, so
/// a raised limit lets a waiting run in at once. Its questions are answered one run at a time, under a server lock
/// ("slot-claims"), from the executions table, so every instance decides alike and two runs never count the same room
/// (<see cref="RefusalAsync"/>). Only a run they let through takes a slot: slot i is a server lock
/// (<see cref="ExecutionSlots"/>), held for the whole run, so a crashed holder's slot frees itself. A run refused
/// holds no slot while it waits, and so keeps none from a run that may start. A lock also goes when the database
/// drops its connection while the run that held it goes on; so the slot decides nothing alone: a run whose lock went
/// keeps its place in the count until it ends or the watchdog takes it for dead.</para>
/// </summary>
public sealed class RunAdmission(
    Database database, ExecutionStore store, ExecutionSlots slots, SystemSettings settings, RunTimeouts timeouts, RunningExecutions running,
    TimeProvider time)
{
    public async Task<Admission> AdmitAsync(string executionId, RunLane lane, CancellationToken ct)
    {
        // From the claim on this instance holds the run: its watchdog leaves it alone whatever the heartbeat says, even
        // if the database stops answering before the first beat. Taken before the claim, so no moment is left between.
        var hold = running.Hold(executionId);
        ExecutionSlots.Slot? slot = null;
        var admitted = false;
        try
        {
            // Read at each try: a raised max_concurrent_tasks lets a waiting run in at once.
            var current = await settings.GetExecutionSettingsAsync(ct);
            // Not held through the run: a run spends most of its time on AKTools, and a connection idle all that while
            // is one the database may have dropped meanwhile.
            await using var connection = await database.OpenAsync(ct);
            // A first look without the lock: a run refused here waits without queueing for it; the look under it decides.
            var refusal = lane == RunLane.Scheduled ? await RefusalAsync(connection, executionId, current, ct) : null;
            ExecutionPlan? plan = null;
            TimeSpan timeout = default;
            if (refusal is null)
            {
                // Read before the claim: once claimed, a run waiting for AKTools needs no database until the answer comes.
                var limits = await timeouts.LimitsAsync(await store.TaskIdAsync(executionId, ct), current, ct);
                timeout = limits.PerCall;
                if (lane == RunLane.Adhoc) plan = await store.ClaimAsync(connection, executionId, running.Worker, limits.RunMinutes, ct);
                else (refusal, slot, plan) = await ClaimInTurnAsync(connection, executionId, current, limits.RunMinutes, ct);
            }

            if (plan is not null)
            {
                admitted = true;
                return new Admission.Room(new ClaimedRun(executionId, plan, timeout), new Place(hold, slot));
            }

            // Not claimed: a run still pending waits, and is seen waiting, so the fair sharing of the slots counts it (a
            // cancel meanwhile ends the wait); otherwise there is nothing to start.
            return refusal is not null && await store.WaitingAsync(executionId, ct) == ExecutionStatuses.Pending ? new Admission.NoRoom(refusal) : Admission.Nothing;
        }
        finally
        {
            if (!admitted) await ReleaseAsync(hold, slot);
        }
    }

    /// <summary>
    /// A task's run's turn, one run at a time under the "slot-claims" lock: the questions first, then a slot for the run
    /// they let through, then the claim. A run refused holds no slot.
    /// </summary>
    private async Task<(string? Refusal, ExecutionSlots.Slot? Slot, ExecutionPlan? Plan)> ClaimInTurnAsync(
        MySqlConnection connection, string executionId, ExecutionSettings current, int? runMinutes, CancellationToken ct)
    {
        var claims = ServerLockName.For(connection.Database, "slot-claims");
        if (await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@claims, 10)", new { claims }, cancellationToken: ct)) != 1)
        {
            return ("other runs' claims held the turn for 10 s", null, null);
        }

        ExecutionSlots.Slot? slot = null;
        try
        {
            if (await RefusalAsync(connection, executionId, current, ct) is { } refusal) return (refusal, null, null);
            slot = await slots.TryAcquireAsync(current.MaxConcurrentTasks, ct);
            if (slot is null) return ("every slot's lock is held", null, null);
            return (null, slot, await store.ClaimAsync(connection, executionId, running.Worker, runMinutes, ct));
        }
        catch
        {
            if (slot is not null) await slot.DisposeAsync();
            throw;
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@claims)", new { claims }, cancellationToken: CancellationToken.None));
        }
    }

    /// <summary>
    /// Why a task's run may not start now; null when it may. Decided under the "slot-claims" lock, before the run takes
    /// a slot, from the executions table: the slot limit (task runs recorded as running, whoever holds their locks), then
    /// the sharing of the slots between users (<see cref="SlotFairness"/>), on the same connection and under the same
    /// lock, so every instance decides alike and a run it refuses holds no slot.
    /// </summary>
    private Task<string?> RefusalAsync(MySqlConnection connection, string executionId, ExecutionSettings current, CancellationToken ct) =>
        SlotFairness.RefusalAsync(connection, executionId, new SlotLimit(current.MaxConcurrentTasks, current.UserSlots()), time.GetUtcNow().UtcDateTime, ct);

    private static async Task ReleaseAsync(IDisposable hold, ExecutionSlots.Slot? slot)
    {
        if (slot is not null) await slot.DisposeAsync();
        hold.Dispose();
    }

    /// <summary>What an admitted run holds until it ends: its slot (a task's run) and this instance's hold on it.</summary>
    private sealed class Place(IDisposable hold, ExecutionSlots.Slot? slot) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(ReleaseAsync(hold, slot));
    }
}
