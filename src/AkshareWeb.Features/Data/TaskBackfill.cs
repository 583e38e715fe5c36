using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Tables;

namespace AkshareWeb.Features.Data;

/// <summary>
/// A task's <c>"backfill": true</c>: once a run of it has completed, failed or timed out (a cancelled run was given up
/// on purpose), one backfill run of the days coverage still finds missing for that run's keys (the key values its calls
/// asked for) within that run's range (its start and end dates), through <see cref="BackfillRuns"/> as
/// POST /api/tables/{table}/backfill plans it. The backfill is an execution of its own: the task's (task_id), its owner's,
/// triggered_by 'backfill' and linked by backfill_of to the run; it runs as the task's runs do (the scheduled queue). A
/// backfill (and a retry of one, which keeps the link) is never followed by another. One with nothing to ask is recorded
/// completed with no part and makes no call; one the table or script cannot have (a 422 of the planning) is recorded
/// failed with the reason.
/// <para>Locks: the task's lock alone (<see cref="TaskRunQuota.TaskLockName"/>), around "has the task a run open?" and
/// the backfill's row, as a schedule's fire takes it; never the user's lock, so no order with the user-then-task order
/// of <see cref="TaskRunQuota"/> can cross. A task with a run open then (its retry, its next due time) skips this
/// backfill: that run's own end brings one.</para>
/// </summary>
public sealed class TaskBackfill(
    ExecutionStore executions, PartStore parts, ITaskRunRules tasks, BackfillRuns backfills, ExecutionDispatcher dispatcher, Database database,
    ILogger<TaskBackfill> logger) : IRunFollowUp
{
    public const string TriggeredBy = "backfill";

    /// <summary>The backfill's schedule key: unique, so the run's end seen twice (its job, a participant, the watchdog)
    /// makes one backfill.</summary>
    public static string ScheduleKey(string executionId) => $"backfill-of:{executionId}";

    public async Task AfterRunAsync(string executionId, CancellationToken ct)
    {
        try
        {
            await FollowAsync(executionId, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && !Database.IsOutage(e) && !Failover.IsUnavailable(e))
        {
            // A lost database is the caller's to repeat; anything else must not fail the run's job after its end.
            logger.LogWarning(e, "The backfill after execution {ExecutionId} was not started", executionId);
        }
    }

    private async Task FollowAsync(string executionId, CancellationToken ct)
    {
        if (await executions.StatusAsync(executionId, ct) is not (ExecutionStatuses.Completed or ExecutionStatuses.Failed or ExecutionStatuses.Timeout)) return;
        var run = await executions.PlanAsync(executionId, ct);
        // Never a backfill's backfill: no loop, whatever the task says.
        if (run is not { TaskId: { } taskId } || run.BackfillOf is not null || run.TriggeredBy == TriggeredBy) return;
        if (await tasks.ForTaskAsync(taskId, ct) is not { Backfill: true }) return;

        var asked = await AskedAsync(executionId, run, ct);
        // The row of a backfill that makes no call: the run's own plan, which says what was looked at, without its sources.
        var row = run with { TriggeredBy = TriggeredBy, ScheduleKey = ScheduleKey(executionId), BackfillOf = executionId, Sources = null };
        List<BackfillPart> chosen;
        BackfillAsking? asking = null;
        string? refused = null;
        string? nothing = null;
        try
        {
            asking = await backfills.AskAsync(run.TargetTable, script => Span(asked.Select(v => CallRange(script, run, v))), ct);
            chosen = BackfillRuns.Parts(asking, Chosen(asking, run, asked));
            if (chosen.Count > 0) row = backfills.Plan(asking, chosen, TriggeredBy, run.UserId, "backfill", taskId, executionId, ScheduleKey(executionId)) with { Concurrency = run.Concurrency };
            else nothing = $"nothing missing: the {asked.Count} key(s) of {executionId} have every trading day of its range that the calendar has closed, or that the upstream confirmed empty; no call made";
        }
        catch (ApiError e) when (e.Status == 404)
        {
            chosen = [];
            nothing = $"nothing missing: {run.TargetTable} holds no rows yet, so no key has a first day to count from; no call made";
        }
        catch (ApiError e) when (e.Status == 422)
        {
            chosen = [];
            refused = "the backfill cannot be planned: " + (e.Detail is IEnumerable<Common.FieldError> errors ? string.Join("; ", errors.Select(f => f.Message)) : e.Message);
        }

        string? backfillId;
        await using (var connection = await database.OpenAsync(ct))
        {
            var lockName = TaskRunQuota.TaskLockName(connection.Database, taskId);
            if (await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@lockName, 10)", new { lockName }, cancellationToken: ct)) != 1)
            {
                logger.LogWarning("Task {TaskId}: no backfill after {ExecutionId}: its task lock stayed taken", taskId, executionId);
                return;
            }

            try
            {
                if (await TaskRunQuota.OpenRunAsync(connection, taskId, ct) is { } open)
                {
                    logger.LogInformation("Task {TaskId}: no backfill after {ExecutionId}: its run {Open} is {Status}, and its own end brings one",
                        taskId, executionId, open.ExecutionId, open.Status);
                    return;
                }

                backfillId = await executions.CreateAsync(row, ct);
                // Already made for this run: its end was seen twice.
                if (backfillId is null) return;
                // Ended before the lock goes, so a due time never finds it open.
                if (refused is not null) await executions.FailAsync(backfillId, refused);
                else if (nothing is not null) await executions.CompleteEmptyAsync(backfillId, nothing);
            }
            finally
            {
                // Not with ct: the lock must go even when the caller is stopping (a connection that died took it already).
                if (connection.State == System.Data.ConnectionState.Open)
                {
                    await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@lockName)", new { lockName }));
                }
            }
        }

        logger.LogInformation("Task {TaskId}: backfill {BackfillId} after {ExecutionId}: {What}", taskId, backfillId, executionId,
            refused ?? nothing ?? $"{chosen.Count} parts");
        if (refused is not null || nothing is not null) return;
        try
        {
            await backfills.RecordAsync(backfillId, asking!, chosen, ct);
        }
        finally
        {
            // The run is made: it runs even if its marks could not be kept (its days then stay missing, and are asked again).
            dispatcher.Dispatch(backfillId);
        }
    }

    /// <summary>The values of each call the run made: its own with each part's over them (a single run: one call).</summary>
    private async Task<List<IReadOnlyDictionary<string, string>>> AskedAsync(string executionId, ExecutionPlan run, CancellationToken ct)
    {
        if (!run.IsParted) return [run.Parameters];
        var asked = new List<IReadOnlyDictionary<string, string>>();
        for (var page = 1; ; page++)
        {
            var listed = await parts.ListAsync(executionId, null, new PageRequest(page, PageRequest.MaxPageSize), ct);
            foreach (var part in listed.Items)
            {
                var values = new Dictionary<string, string>(run.Parameters, StringComparer.Ordinal);
                foreach (var (name, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(part.Parameters) ?? []) values[name] = value;
                asked.Add(values);
            }

            if (page >= listed.TotalPages) break;
        }

        return asked;
    }

    /// <summary>
    /// The range one call asked for. A start given as since_last (the key's last stored day, resolved for each part) is
    /// open: such a task only ever asks for what follows its last day, and the holes behind it are what its backfill is
    /// for, from the key's first stored day as coverage counts it.
    /// </summary>
    private static (DateOnly? From, DateOnly? To) CallRange(BackfillScript script, ExecutionPlan run, IReadOnlyDictionary<string, string> values)
    {
        var (from, to) = script.Range(values);
        return (run.Sources?.GetValueOrDefault(script.Start.Name)?.SinceLast is not null ? null : from, to);
    }

    /// <summary>The range that holds every call's: open at an end where one call's is open.</summary>
    private static (DateOnly? From, DateOnly? To) Span(IEnumerable<(DateOnly? From, DateOnly? To)> ranges)
    {
        var list = ranges.ToList();
        if (list.Count == 0) return (null, null);
        return (list.Any(r => r.From is null) ? null : list.Min(r => r.From), list.Any(r => r.To is null) ? null : list.Max(r => r.To));
    }

    /// <summary>The keys with gaps that a call of the run asked for (each key column a parameter sets has that call's
    /// value), their missing ranges cut to the ranges of those calls.</summary>
    private static IEnumerable<KeyCoverage> Chosen(BackfillAsking asking, ExecutionPlan run, IReadOnlyList<IReadOnlyDictionary<string, string>> asked)
    {
        var script = asking.Asking;
        foreach (var key in asking.Reading.Items)
        {
            var calls = asked.Where(values => script.ParameterOf.All(p =>
                values.TryGetValue(p.Value, out var value) && value == Convert.ToString(key.Key.GetValueOrDefault(p.Key), CultureInfo.InvariantCulture)))
                .Select(v => CallRange(script, run, v)).ToList();
            if (calls.Count == 0) continue;
            var ranges = new List<DateOnly[]>();
            // Calls whose ranges overlap cut a missing range into overlapping pieces: joined again, each day is asked once.
            foreach (var piece in key.MissingRanges
                .SelectMany(r => calls.Select(c => new[] { Later(r[0], c.From), Earlier(r[1], c.To) }))
                .Where(r => r[0] <= r[1])
                .OrderBy(r => r[0]))
            {
                if (ranges.Count > 0 && piece[0] <= ranges[^1][1]) ranges[^1][1] = Later(ranges[^1][1], piece[1]);
                else ranges.Add(piece);
            }

            if (ranges.Count > 0) yield return key with { MissingRanges = ranges };
        }
    }

    private static DateOnly Later(DateOnly day, DateOnly? bound) => bound is { } b && b > day ? b : day;

    private static DateOnly Earlier(DateOnly day, DateOnly? bound) => bound is { } b && b < day ? b : day;
}
