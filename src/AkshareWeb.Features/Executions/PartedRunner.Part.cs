using System.Text.Json;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>One part of a parted run: its values (a since_last date resolved at its start), then its call through
/// <see cref="PartRunner"/> (its turn under the site family's rate, the fetch, its rows written through the
/// participation's shared write); what stopped it becomes the part's status.</summary>
public sealed partial class PartedRunner
{
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
