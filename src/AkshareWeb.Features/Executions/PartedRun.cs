using System.Text.Json;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;
using AkshareWeb.Features.Settings;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Runs a parted execution. The instance that claimed the execution expands its sources into execution_parts;
/// then it, and every other instance that joins (see Executions/PartsPump), takes parts one at a time under the
/// execution's row lock, so a part runs once however many take part, and at most the run's concurrency run at
/// once in all. Each part waits for its turn under its site family's rate, is fetched (AKTools' transient answers
/// retried with backoff, each try also waiting its turn) and written as it finishes with the same keyed writes as
/// a single run. Every second a participant beats the heartbeats of its parts and of the execution, updates the
/// counts and reads the cancel flag. Whoever finds no part left open records the end.
/// </summary>
public sealed class PartedRun(
    Database database, ExecutionStore store, PartStore parts, PartRunner calls, WarehouseWriter writer, ValueSources sources, SiteRates rates,
    ParameterBinder binder, PartParticipations participations, SystemSettings settings, TimeProvider time, ILogger<PartedRun> logger,
    WarehouseTables tables, RunEnding ending, SitePauses pauses, PartsQuota partsQuota)
{
    /// <summary>Expands the sources of a just-claimed execution (unless a retry brought its parts), then takes part.
    /// Its parts, new or a retry's copies, pass the user's cap on parts waiting first.</summary>
    public async Task<ExecutionOutcome> StartAsync(ClaimedRun claimed, CancellationToken ct)
    {
        var (executionId, plan) = (claimed.ExecutionId, claimed.Plan);
        List<Dictionary<string, string>>? expanded = null;
        if (await parts.CountAsync(executionId, ct) == 0)
        {
            try
            {
                expanded = await sources.ExpandAsync(plan.Sources!, ct);
            }
            catch (Exception e) when (e is InvalidOperationException or MySqlException)
            {
                return await FailAtStartAsync(executionId, e is TooManyPartsException ? e.Message : $"the parameter sources could not be read: {e.Message}");
            }
        }

        string? refusal;
        await using (var quota = await partsQuota.EnterAsync(executionId, plan.UserId, expanded?.Count ?? 0, ct))
        {
            // Written, or the copies cancelled, before the user's lock goes: the next start of theirs counts what this one left.
            refusal = quota.Refusal;
            if (refusal is not null)
            {
                if (expanded is null) await parts.CancelPendingAsync(executionId);
            }
            else if (expanded is not null)
            {
                await parts.InsertAsync(executionId, expanded, ct);
            }
        }

        if (refusal is not null) return await FailAtStartAsync(executionId, refusal);

        await store.StartPartedAsync(executionId, await writer.CountRowsAsync(plan.TargetTable, ct), ct);
        await ParticipateAsync(claimed, ct);
        return await store.OutcomeAsync(executionId);
    }

    /// <summary>A run that ends before any part is written: its sources could not be read, or its parts would pass a quota.</summary>
    private async Task<ExecutionOutcome> FailAtStartAsync(string executionId, string problem)
    {
        await ending.RecordAsync(executionId, new RunEnd(ExecutionStatuses.Failed, problem, new RunResult(problem), time.GetUtcNow().UtcDateTime, 0, 0, 0, 0, 0, 0)
        {
            Parts = PartCounts.None,
        });
        return new ExecutionOutcome(ExecutionStatuses.Failed, 0, problem);
    }

    /// <summary>Takes part in a running parted execution started elsewhere (or before a restart); true when this call recorded its end.</summary>
    public async Task<bool> JoinAsync(string executionId, TimeSpan? partTimeout, CancellationToken ct)
    {
        var plan = await store.PlanAsync(executionId, ct);
        return plan is { IsParted: true } && await ParticipateAsync(new ClaimedRun(executionId, plan, partTimeout), ct);
    }

    private async Task<bool> ParticipateAsync(ClaimedRun claimed, CancellationToken ct)
    {
        var (executionId, plan) = (claimed.ExecutionId, claimed.Plan);
        if (!participations.TryEnter(executionId)) return false;
        try
        {
            var global = await settings.GetExecutionSettingsAsync(ct);
            var concurrency = Math.Clamp(plan.Concurrency ?? sources.DefaultConcurrency, 1, Math.Max(1, global.MaxConcurrentTasks));
            var family = await rates.FamilyAsync(plan.InterfaceName, ct);
            await using var write = new RunWrite(writer, plan, executionId, parted: true);
            var state = new Participation(claimed, concurrency, family, write);
            await parts.SeenAsync(executionId, participations.Worker, ct);
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var monitorStop = new CancellationTokenSource();
            var monitor = MonitorAsync(state, run, monitorStop.Token);
            var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => WorkAsync(state, run.Token), CancellationToken.None)).ToList();
            await Task.WhenAll(workers);
            await monitorStop.CancelAsync();
            await monitor;
            await CloseWriteAsync(state);
            if (ct.IsCancellationRequested)
            {
                // The service is stopping: the parts this instance had open go back to pending for whoever continues.
                await ReleaseAsync(state);
                return false;
            }

            return await database.RetryAsync(_ => TryFinishAsync(state), CancellationToken.None);
        }
        finally
        {
            participations.Leave(executionId);
            await LeftAsync(executionId);
        }
    }

    private async Task LeftAsync(string executionId)
    {
        try
        {
            await parts.LeaveAsync(executionId, participations.Worker);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            logger.LogWarning(e, "Leaving parted execution {ExecutionId} was not recorded", executionId);
        }
    }

    private async Task CloseWriteAsync(Participation state)
    {
        if (state.Write.Table is not { } write) return;
        try
        {
            await write.FinishAsync(CancellationToken.None);
            foreach (var index in write.BrowsingIndexes) state.Indexes.Add(index);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            logger.LogWarning(e, "Closing the write of parted execution {ExecutionId} failed", state.ExecutionId);
        }

        await state.Write.DisposeAsync();
    }

    private async Task WorkAsync(Participation state, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var claim = await database.RetryAsync(token => parts.ClaimAsync(state.ExecutionId, participations.Worker, state.Concurrency, state.Running.Count, token), ct);
                state.Cancelled |= claim.CancelRequested;
                if (claim.Kind is PartClaimKind.None or PartClaimKind.Stopped) break;
                if (claim.Kind == PartClaimKind.Busy)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct);
                    continue;
                }

                state.Running[claim.Part!.Id] = 0;
                await RunPartAsync(state, claim.Part, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (Database.IsOutage(e) || e is InvalidOperationException || Failover.IsUnavailable(e))
        {
            logger.LogWarning(e, "A worker of parted execution {ExecutionId} stopped", state.ExecutionId);
        }
    }

    /// <summary>Every second: heartbeats, counts, progress, and the cancel flag (seen on any instance within a second).
    /// A database that stopped answering is tried again each second: the parts running here go on meanwhile, and
    /// their heartbeats and the cancel flag come back with it.</summary>
    private async Task MonitorAsync(Participation state, CancellationTokenSource run, CancellationToken stop)
    {
        var failing = false;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    await parts.BeatAsync(state.Running.Keys.ToArray(), participations.Worker, stop);
                    await parts.SeenAsync(state.ExecutionId, participations.Worker, stop);
                    var flagged = await UpdateCountsAsync(state, stop);
                    failing = false;
                    if (flagged && !state.Cancelled)
                    {
                        state.Cancelled = true;
                        await run.CancelAsync();
                    }
                }
                catch (Exception e) when ((Database.IsOutage(e) || Failover.IsUnavailable(e)) && !stop.IsCancellationRequested)
                {
                    // The beats resume with the database (another node of it, after a failover); parts this instance
                    // runs must not look abandoned meanwhile for longer than the outage.
                    if (!failing) logger.LogWarning(e, "Heartbeat of parted execution {ExecutionId} failed; retrying every second", state.ExecutionId);
                    failing = true;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> UpdateCountsAsync(Participation state, CancellationToken ct)
    {
        var counts = await parts.CountsAsync(state.ExecutionId, time.GetUtcNow().UtcDateTime.AddSeconds(-10), ct);
        // A paused family is the first thing someone watching a slow run needs to know: its parts wait, they do not fail.
        var paused = await pauses.PauseReasonAsync(state.Family, ct);
        if (paused is not null) state.SitePause = paused;
        var live = RunResult.Live(state.Family, rates.RateOf(state.Family), rates.EffectiveRateOf(state.Family), paused, counts);
        return await store.BeatPartedAsync(state.ExecutionId, counts, live.ToJson(), ct);
    }

    private async Task ReleaseAsync(Participation state)
    {
        try
        {
            await parts.ReleaseAsync(state.ExecutionId, participations.Worker);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            logger.LogWarning(e, "Parts of {ExecutionId} could not be released; the watchdog frees them", state.ExecutionId);
        }
    }

    /// <summary>
    /// When no part is open any more, records the end once (the status change from running is the lock): completed
    /// when every part succeeded, failed naming how many did not, cancelled when asked, timeout past its deadline.
    /// </summary>
    private async Task<bool> TryFinishAsync(Participation state)
    {
        if (state.Cancelled) await parts.CancelPendingAsync(state.ExecutionId);
        var counts = await parts.CountsAsync(state.ExecutionId, DateTime.MaxValue, CancellationToken.None);
        if (counts.Pending + counts.Running > 0) return false;
        var cancelled = state.Cancelled || await store.CancelRequestedAsync(state.ExecutionId);
        var overdue = cancelled ? await store.OverdueAsync(state.ExecutionId) : null;
        var (status, error) = overdue is { } limit
            ? (ExecutionStatuses.Timeout, $"stopped at its overall time limit of {limit} minutes (max_run_minutes): {counts.Done} of {counts.Total} parts completed")
            : cancelled ? (ExecutionStatuses.Cancelled, $"cancelled while running: {counts.Done} of {counts.Total} parts completed")
            : counts.Failed > 0 ? (ExecutionStatuses.Failed, $"{counts.Failed} of {counts.Total} parts failed after their retries; POST /api/executions/{state.ExecutionId}/retry runs only those again")
            : (ExecutionStatuses.Completed, (string?)null);
        var rowsAfter = await writer.CountRowsAsync(state.Plan.TargetTable, CancellationToken.None);
        var pausedNote = state.SitePause is { } pause ? $" ({pause} during the run)" : "";
        var result = RunResult.OfPartedRun((error ?? $"success: {counts.Total} parts") + pausedNote, state.Plan.TargetTable, state.Family, rates.RateOf(state.Family),
            state.SitePause, counts);
        var end = new RunEnd(status, error, result, time.GetUtcNow().UtcDateTime, status == ExecutionStatuses.Completed ? 100 : counts.Progress,
            counts.Fetched, counts.Written, counts.Inserted, counts.Updated, rowsAfter) { Parts = counts };
        if (!await ending.RecordAsync(state.ExecutionId, end)) return false;
        if (counts.Written > 0 || rowsAfter > 0) await tables.RegisterAsync(state.Plan.Registration, counts.Written > 0, time.GetUtcNow().UtcDateTime, CancellationToken.None);
        logger.LogInformation("Parted execution {ExecutionId} ended {Status}: {Done}/{Total} parts, {Written} rows written", state.ExecutionId, status, counts.Done, counts.Total, counts.Written);
        ending.AfterRecord(state.Plan.TargetTable, state.Indexes.DistinctBy(i => i.Name).ToList(), counts.Written > 0 ? state.ExecutionId : null);
        return true;
    }

    /// <summary>One part: its values (a since_last date resolved at its start), then its call through <see cref="PartRunner"/>
    /// (its turn under the site family's rate, the fetch, its rows written through the participation's shared write);
    /// what stopped it becomes the part's status.</summary>
    private async Task RunPartAsync(Participation state, PartRow part, CancellationToken ct)
    {
        var plan = state.Plan;
        var values = new Dictionary<string, string>(plan.Parameters, StringComparer.Ordinal);
        var own = JsonSerializer.Deserialize<Dictionary<string, string>>(part.Parameters) ?? [];
        foreach (var (name, value) in own) values[name] = value;
        var tally = new PartTally();
        string status;
        string? error = null;
        using var partRun = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (state.PartTimeout is { } limit) partRun.CancelAfter(limit);
        try
        {
            foreach (var (name, source) in plan.Sources!.Where(s => s.Value.SinceLast is not null))
            {
                if (await database.RetryAsync(token => sources.SinceLastAsync(source, plan.TargetTable, values, token), partRun.Token) is { } since)
                {
                    values[name] = since;
                    own[name] = since;
                }
            }

            if (own.Count > 0) await database.RetryAsync(token => parts.SaveParametersAsync(part.Id, own, token), partRun.Token);
            var call = new PartCall(state.ExecutionId, plan.InterfaceName, values, binder.ResolveExtraColumns(plan.ExtraColumns, values), plan.DatedColumns,
                state.Family, Polite: true);
            await calls.RunAsync(call, state.Write, tally, partRun.Token);
            status = PartStatuses.Completed;
        }
        catch (OperationCanceledException) when (partRun.IsCancellationRequested)
        {
            (status, error) = state.Cancelled ? (PartStatuses.Cancelled, "cancelled while running")
                : ct.IsCancellationRequested ? (PartStatuses.Pending, null)
                : (PartStatuses.Failed, $"did not finish within {state.PartTimeout!.Value.TotalSeconds:0} s" + await PausedNoteAsync(state.Family));
        }
        catch (AkToolsException e)
        {
            (status, error) = (PartStatuses.Failed, e.Message);
        }
        catch (Exception e) when (Failover.IsUnavailable(e))
        {
            logger.LogWarning(e, "Part {PartId} of execution {ExecutionId} lost its database node", part.Id, state.ExecutionId);
            (status, error) = (PartStatuses.Failed, "the database stopped answering during the part");
        }
        catch (MySqlException e)
        {
            // The server's text names tables, columns and internals: the log keeps it, the part says what happened.
            logger.LogWarning(e, "Part {PartId} of execution {ExecutionId} failed in the database: MySQL error {Number}: {Message}",
                part.Id, state.ExecutionId, e.Number, e.Message);
            (status, error) = (PartStatuses.Failed, RunFailures.DatabaseCause(e));
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            // A connection the network reset surfaces bare: the part failed, as with any other database failure.
            logger.LogWarning(e, "Part {PartId} of execution {ExecutionId} lost the database", part.Id, state.ExecutionId);
            (status, error) = (PartStatuses.Failed, "the database stopped answering during the part");
        }
        catch (InvalidOperationException e)
        {
            if (e is RowsRefusedException refused)
            {
                logger.LogWarning("Part {PartId} of execution {ExecutionId}: the database refused rows: {ServerText}", part.Id, state.ExecutionId, refused.ServerText);
            }

            (status, error) = (PartStatuses.Failed, e.Message);
        }

        Interlocked.Add(ref state.Written, tally.Affected);
        // Recorded whatever the database did meanwhile: a part left 'running' by a live instance waits for the watchdog.
        await database.RetryAsync(token => parts.RecordAsync(part.Id, participations.Worker, status, tally.Tries, tally.Fetched, tally.Inserted, tally.Updated, error),
            CancellationToken.None);

        state.Running.TryRemove(part.Id, out _);
    }

    /// <summary>A part that timed out while its family was paused says so: retried later, it may well succeed.</summary>
    private async Task<string> PausedNoteAsync(string family) =>
        await pauses.PauseReasonAsync(family, CancellationToken.None) is { } reason ? $": it waited while {reason}" : "";
}
