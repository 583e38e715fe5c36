using System.Text.Json;
using Dapper;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Data;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Tasks;

/// <summary>
/// Turns a task into a pending execution of its data script. The parameters a task stores are the ones its
/// owner gave; defaults and relative dates ("today-30d") are resolved at each run, so a daily task asks for
/// each day's window.
/// </summary>
public sealed class TaskLauncher(
    DataScriptLibrary scripts, ParameterBinder binder, ValueSources sources, ExecutionStore executions, ExecutionDispatcher dispatcher, Database database, TimeProvider time,
    BackfillRuns backfills)
{
    /// <summary>Checks the parameters against the script (a 422 naming the problem) and returns them as stored JSON.</summary>
    public async Task<string> ValidateParametersAsync(string scriptId, JsonElement? parameters, CancellationToken ct)
    {
        var found = await scripts.FindAsync(scriptId, ct);
        if (found is not { } f)
        {
            throw ApiError.Validation("script_id", $"no data script {scriptId}; see GET /api/scripts/");
        }

        if (!f.IsActive)
        {
            throw ApiError.Validation("script_id", $"the data script {scriptId} is deactivated");
        }

        // A value may be a source of values (a list, a table's column, since_last): checked here, expanded at each run.
        await sources.BindAsync(f.Script.Parameters, parameters, f.Script.TargetTable, f.Script.WriteMode, f.Script.ExtraColumns, ct);
        return parameters is { ValueKind: JsonValueKind.Object } p ? p.GetRawText() : "{}";
    }

    /// <summary>"backfill": true needs a script that can be asked for one key's missing days (<see cref="BackfillRuns.CheckScriptAsync"/>):
    /// else a 422 on backfill saying why, as POST /api/tables/{table}/backfill refuses its table.</summary>
    public async Task CheckBackfillAsync(string scriptId, CancellationToken ct)
    {
        if (await scripts.FindAsync(scriptId, ct) is { } found) await backfills.CheckScriptAsync(found.Script, ct);
    }

    /// <summary>
    /// The new execution's id, or null when this schedule key already ran (a duplicate fire). The caller is who
    /// the run acts for (a user who started it, or the task's owner when its schedule fires): the same rule as
    /// for a request decides whether they may, and the run is theirs. Null only for the schedule of a task whose
    /// owner is gone: its run belongs to no user, as before.
    /// </summary>
    /// <param name="resume">A repeat of a start whose answer was lost (<see cref="Failover"/>): a run the first attempt
    /// made under this schedule key and that still waits is started, its job having perhaps never been made (a
    /// second job of one run finds it claimed and does nothing).</param>
    public async Task<string?> StartAsync(TaskRow task, Caller? caller, string triggeredBy, string? scheduleKey, CancellationToken ct, bool resume = false)
    {
        if (caller is { } acting) TaskStore.Visible(task, acting);
        var (script, _) = await scripts.FindAsync(task.ScriptId, ct)
            ?? throw ApiError.Conflict($"the task's data script {task.ScriptId} no longer exists");
        using var stored = JsonDocument.Parse(task.Parameters);
        // A stored value AKTools must not receive (written behind the service's back) reaches the run, which fails
        // with the reason and never calls AKTools; a 422 here would leave a scheduled run without a trace. For the same
        // reason a table source that grew past the part cap is not counted here: the run counts when it reads it, and fails.
        var (parameters, parted) = await sources.BindAsync(
            script.Parameters, stored.RootElement.Clone(), script.TargetTable, script.WriteMode, script.ExtraColumns, ct, refuseUnsafe: false, countParts: false);
        var plan = new ExecutionPlan(script.Interface, parameters, script.TargetTable, script.WriteMode, script.KeyColumns,
            ValueSources.ExtraColumns(binder, script.ExtraColumns, parameters, parted), triggeredBy, task.Id, script.Id, caller?.Id,
            script.Name, script.Category, scheduleKey, script.DatedColumns, parted.Count > 0 ? parted : null, task.Concurrency);
        var executionId = await executions.CreateAsync(plan, ct);
        if (executionId is not null)
        {
            // Whoever started it (the schedule, /execute): the task's last run is this one, as its last_status says.
            await using (var connection = await database.OpenAsync(ct))
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE scheduled_tasks SET last_execution_at = @now WHERE id = @id", new { now = time.GetUtcNow().UtcDateTime, id = task.Id }, cancellationToken: ct));
            }

            dispatcher.Dispatch(executionId);
        }
        else if (resume && scheduleKey is not null && await executions.PendingByScheduleKeyAsync(scheduleKey, ct) is { } waiting)
        {
            dispatcher.Dispatch(waiting);
        }

        return executionId;
    }
}
