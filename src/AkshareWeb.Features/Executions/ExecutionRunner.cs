using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Runs one execution claimed for this instance by <see cref="RunAdmission"/>, whichever kind: a run with single values
/// through <see cref="SingleRun"/>, a run over parameter sources through <see cref="PartedRun"/>. A run whose data
/// script Scripts found broken is not sent to AKTools: it fails with the reason found.
/// </summary>
public sealed class ExecutionRunner(Database database, RunAdmission admission, SingleRun singleRun, PartedRun partedRun, IScriptHealth scripts, RunEnding ending)
{
    /// <summary>Why the run's script cannot run, as Scripts last found it (<see cref="IScriptHealth"/>); null when it can.</summary>
    private async Task<string?> BrokenReasonAsync(string scriptId, CancellationToken ct)
    {
        try
        {
            // A lost node is waited out like any unit of work (Failover) ...
            return await database.RetryAsync(token => scripts.BrokenReasonAsync(scriptId, token), ct);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            // ... and a database gone for longer does not fail the run here: thrown from here it would leave the claimed
            // run 'running' for the watchdog to guess about; a broken script's call fails at AKTools with its own reason,
            // and the write meets the same database as this look.
            return null;
        }
    }

    /// <summary>For the benchmarks: claims the run at once, as a download is (no slot), and runs it without a time
    /// limit; null when it was not pending.</summary>
    public async Task<ExecutionOutcome?> RunNowAsync(string executionId, CancellationToken ct)
    {
        if (await admission.AdmitAsync(executionId, RunLane.Adhoc, ct) is not Admission.Room room) return null;
        await using (room)
        {
            return await RunAsync(room.Run with { Timeout = null }, ct);
        }
    }

    /// <summary>Runs a run <see cref="RunAdmission"/> claimed for this instance, to its recorded end.</summary>
    public async Task<ExecutionOutcome> RunAsync(ClaimedRun run, CancellationToken ct)
    {
        var plan = run.Plan;
        var broken = plan.ScriptId is null ? null : await BrokenReasonAsync(plan.ScriptId, ct);
        if (!plan.IsParted) return await singleRun.RunAsync(run, broken, ct);
        // A run over parameter sources: the task's timeout applies to each part, a whole market taking as long as it takes.
        return broken is null ? await partedRun.StartAsync(run, ct) : await ending.FailAsync(run.ExecutionId, $"the data script {plan.ScriptId} is broken: {broken}");
    }
}
