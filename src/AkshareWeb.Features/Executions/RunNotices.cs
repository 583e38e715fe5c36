using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Notifications;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// What people hear of runs (Notifications), raised from the two places where a run's end is final: after a run's
/// end is recorded and its retry decided (<see cref="RunEndedAsync"/>, from ExecutionJob and PartsPump), and after
/// the watchdog failed runs whose instance died (<see cref="InstanceLostAsync"/>). It reads the recorded run, so it
/// does not care which engine ran it; each notice is keyed on the run, so calling twice tells once. Nothing here
/// fails or delays a run: publishing only queues rows, and a failure to do so is logged.
/// <list type="bullet">
/// <item><c>run_failed</c>: a run that failed or timed out and that no retry follows (a retry's own end speaks for
/// it), with "N of M parts failed" and the first failed parts for a run in parts.</item>
/// <item><c>task_failing</c>: when the run makes its task's K-th final failure in a row (Notifications:TaskFailingAfter;
/// a run and its retries count once).</item>
/// <item><c>instance_lost</c>: the runs the watchdog failed, for each instance that stopped answering.</item>
/// </list>
/// </summary>
public sealed class RunNotices(Database database, ITaskRunRules tasks, Notifier notifier, IOptions<NotificationOptions> options, ILogger<RunNotices> logger)
{
    private const int FirstErrors = 3;

    /// <summary>A run as its notices describe it; its task's name and owner are Tasks' to tell (<see cref="WithTaskAsync"/>).</summary>
    private sealed record Run(
        string ExecutionId, string Status, string? ErrorMessage, long? TaskId, long? UserId, string? ScriptId,
        string InterfaceName, string TargetTable, string TriggeredBy, int RetryCount, int? PartsTotal, int? PartsFailed, string? Worker, long Retries)
    {
        public string? TaskName { get; init; }

        public long? TaskOwner { get; init; }

        /// <summary>A retry of this run exists (an automatic one the task asked for, or one a user started).</summary>
        public bool Retried => Retries > 0;

        public long? Owner => TaskOwner ?? UserId;

        public string What => TaskName is not null ? $"task {TaskName}" : $"download of {ScriptId ?? InterfaceName}";

        public Dictionary<string, object?> Facts() => new()
        {
            ["execution_id"] = ExecutionId, ["status"] = Status, ["task_id"] = TaskId, ["task_name"] = TaskName, ["user_id"] = Owner,
            ["script_id"] = ScriptId, ["interface"] = InterfaceName, ["table"] = TargetTable, ["triggered_by"] = TriggeredBy,
            ["retry_count"] = RetryCount, ["parts_total"] = PartsTotal, ["parts_failed"] = PartsFailed,
        };
    }

    private const string RunColumns = """
        e.execution_id AS ExecutionId, e.status AS Status, e.error_message AS ErrorMessage, e.task_id AS TaskId, e.user_id AS UserId,
        e.script_id AS ScriptId, e.interface_name AS InterfaceName, e.target_table AS TargetTable,
        e.triggered_by AS TriggeredBy, e.retry_count AS RetryCount, e.parts_total AS PartsTotal, e.parts_failed AS PartsFailed, e.worker AS Worker,
        (SELECT COUNT(*) FROM executions r WHERE r.task_id = e.task_id AND r.retry_of = e.execution_id) AS Retries
        FROM executions e
        """;

    /// <summary>The run with its task's name and owner, as Tasks has them now (none when the task is gone).</summary>
    private async Task<Run> WithTaskAsync(Run run, CancellationToken ct) =>
        run.TaskId is { } taskId && await tasks.ForTaskAsync(taskId, ct) is { } task ? run with { TaskName = task.Name, TaskOwner = task.OwnerId } : run;

    /// <summary>After a run's end was recorded and its automatic retry, if any, was created.</summary>
    public async Task RunEndedAsync(string executionId, CancellationToken ct)
    {
        try
        {
            await using var connection = await database.OpenAsync(ct);
            var run = await connection.QuerySingleOrDefaultAsync<Run>(new CommandDefinition(
                $"SELECT {RunColumns} WHERE e.execution_id = @executionId", new { executionId }, cancellationToken: ct));
            if (run is null || run.Status is not (ExecutionStatuses.Failed or ExecutionStatuses.Timeout) || run.Retried) return;
            run = await WithTaskAsync(run, ct);
            await notifier.TryPublishAsync(await RunFailedAsync(connection, run, ct), ct);
            await TaskFailingAsync(connection, run, ct);
        }
        catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException)
        {
            logger.LogWarning(e, "What to tell of the end of execution {ExecutionId} could not be read", executionId);
        }
    }

    /// <summary>After the watchdog failed <paramref name="executionIds"/> (their instance stopped answering) and created their retries.</summary>
    public async Task InstanceLostAsync(IReadOnlyList<string> executionIds, CancellationToken ct)
    {
        if (executionIds.Count == 0) return;
        try
        {
            await using var connection = await database.OpenAsync(ct);
            var runs = new List<Run>();
            foreach (var run in await connection.QueryAsync<Run>(new CommandDefinition(
                $"SELECT {RunColumns} WHERE e.execution_id IN @executionIds ORDER BY e.id", new { executionIds }, cancellationToken: ct)))
            {
                runs.Add(await WithTaskAsync(run, ct));
            }

            foreach (var lost in runs.GroupBy(r => r.Worker ?? "unknown"))
            {
                await LostAsync(lost.Key, lost.ToList(), ct);
            }

            foreach (var run in runs.Where(r => !r.Retried)) await TaskFailingAsync(connection, run, ct);
        }
        catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException)
        {
            logger.LogWarning(e, "What to tell of the runs of a lost instance could not be read");
        }
    }

    /// <summary>One notice for the admins naming every run; one for each owner naming theirs.</summary>
    private async Task LostAsync(string worker, IReadOnlyList<Run> runs, CancellationToken ct)
    {
        static string Line(Run r) => $"{r.ExecutionId}: {r.What} ({r.InterfaceName} → {r.TargetTable}){(r.Retried ? ", retry scheduled" : "")}";
        var key = $"{worker}|{runs[0].ExecutionId}";
        var head = $"The instance {worker} stopped answering; the watchdog failed the runs it held. Rows they wrote stay, keyed: a re-run cannot duplicate them.";
        var facts = new Dictionary<string, object?> { ["worker"] = worker, ["execution_ids"] = runs.Select(r => r.ExecutionId).ToList() };
        await notifier.TryPublishAsync(new Notice(NotificationEvents.InstanceLost, key, $"instance {worker} lost: {runs.Count} runs failed",
            [head, .. runs.Select(Line)], facts, UserId: null), ct);
        foreach (var mine in runs.Where(r => r.Owner is not null).GroupBy(r => r.Owner!.Value))
        {
            var theirs = mine.ToList();
            await notifier.TryPublishAsync(new Notice(NotificationEvents.InstanceLost, $"{key}|{mine.Key}", $"instance {worker} lost: {theirs.Count} of your runs failed",
                [head, .. theirs.Select(Line)], new Dictionary<string, object?> { ["worker"] = worker, ["execution_ids"] = theirs.Select(r => r.ExecutionId).ToList() },
                mine.Key, ToAdmins: false), ct);
        }
    }

    private static async Task<Notice> RunFailedAsync(MySqlConnection connection, Run run, CancellationToken ct)
    {
        var parted = run.PartsTotal is > 0;
        var title = run.Status == ExecutionStatuses.Timeout ? $"{run.What} timed out"
            : parted && run.PartsFailed is > 0 ? $"{run.What}: {run.PartsFailed} of {run.PartsTotal} parts failed"
            : $"{run.What} failed";
        var lines = new List<string> { run.ErrorMessage ?? run.Status };
        if (parted)
        {
            var first = await connection.QueryAsync<(string Parameters, string? Error)>(new CommandDefinition("""
                SELECT CAST(parameters AS CHAR), error_message FROM execution_parts WHERE execution_id = @ExecutionId AND status = 'failed' ORDER BY part_no LIMIT @FirstErrors
                """, new { run.ExecutionId, FirstErrors }, cancellationToken: ct));
            lines.AddRange(first.Select(p => $"{PartValues(p.Parameters)}: {p.Error}"));
        }

        lines.Add($"execution {run.ExecutionId} ({run.TriggeredBy}{(run.RetryCount > 0 ? $", after {run.RetryCount} retries" : "")}): {run.InterfaceName} → {run.TargetTable}");
        return new Notice(NotificationEvents.RunFailed, run.ExecutionId, title, lines, run.Facts(), run.Owner);
    }

    private static string PartValues(string parameters)
    {
        var values = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(parameters) ?? [];
        return string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"));
    }

    /// <summary>
    /// task_failing when this run makes the task's final outcomes end in exactly K failures in a row: a run that a
    /// retry followed is not an outcome (its retry is), so a run and its retries count once, and the notice comes once
    /// per streak, at its K-th failure.
    /// </summary>
    private async Task TaskFailingAsync(MySqlConnection connection, Run run, CancellationToken ct)
    {
        if (run.TaskId is not { } taskId) return;
        var k = Math.Max(1, options.Value.TaskFailingAfter);
        // The latest runs of the task, enough to hold K + 1 outcomes whatever retries they had (at most 10 each).
        var recent = (await connection.QueryAsync<(string Id, string Status, string? RetryOf, string? Error)>(new CommandDefinition("""
            SELECT execution_id, status, retry_of, error_message FROM executions WHERE task_id = @taskId ORDER BY id DESC LIMIT @window
            """, new { taskId, window = (k + 1) * 11 }, cancellationToken: ct))).AsList();
        var retried = recent.Where(r => r.RetryOf is not null).Select(r => r.RetryOf!).ToHashSet(StringComparer.Ordinal);
        var outcomes = recent.Where(r => ExecutionStatuses.Finished.Contains(r.Status) && !retried.Contains(r.Id)).ToList();
        if (outcomes.Count == 0 || outcomes[0].Id != run.ExecutionId) return;
        var streak = outcomes.TakeWhile(r => r.Status is ExecutionStatuses.Failed or ExecutionStatuses.Timeout).Count();
        if (streak != k) return;
        var lines = new List<string> { $"The last {k} runs of {run.What} failed (each after its retries):" };
        lines.AddRange(outcomes.Take(k).Select(r => $"{r.Id}: {r.Error ?? r.Status}"));
        var facts = run.Facts();
        facts["failures_in_a_row"] = k;
        await notifier.TryPublishAsync(new Notice(NotificationEvents.TaskFailing, $"{taskId}|{run.ExecutionId}",
            $"{run.What} failed {k} times in a row", lines, facts, run.Owner), ct);
    }
}
