using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>One AKTools call of a run and where its rows go: a single run's one call, or one part of a parted run.</summary>
/// <param name="ExtraColumns">The script's constant columns, their values resolved for this call.</param>
/// <param name="Polite">Each try waits its turn under the site family's rate and is recorded for the run's call rate
/// (a parted run's parts; a single run's one call is not held back).</param>
public sealed record PartCall(
    string ExecutionId, string Function, IReadOnlyDictionary<string, string> Parameters, IReadOnlyDictionary<string, string> ExtraColumns,
    DatedColumns? DatedColumns, string Family, bool Polite);

/// <summary>
/// Runs one call of a run, whichever kind of run: fetches the answer from AKTools (its transient failures retried
/// there), then writes the rows batch by batch through the run's write. Reading and writing overlap: one task parses and
/// renders the next batch while this one writes the current one; a failure on either side stops both, and what stopped
/// the call is thrown to the run, which tells what it means.
/// </summary>
public sealed class PartRunner(AkToolsClient akTools, SiteRates rates, CallStore calls, ILogger<PartRunner> logger)
{
    /// <summary>Fetches and writes the call's rows, counting them in <paramref name="tally"/>; an answer without data is
    /// a call of 0 rows (<see cref="PartTally.EmptyAnswer"/> says so), not a failure.</summary>
    public async Task RunAsync(PartCall call, RunWrite write, PartTally tally, CancellationToken ct)
    {
        AkToolsClient.Answer? answer = null;
        Func<int, CancellationToken, Task>? beforeTry = call.Polite ? (attempt, token) => TakeTurnAsync(call, tally, attempt, token) : null;
        try
        {
            // A value read from a table reaches here unchecked: FetchAsync holds it to AKTools' rule like any other, so
            // the call fails with the reason before any try or turn.
            answer = await akTools.FetchAsync(call.Function, call.Parameters, ct, beforeTry, call.Family);
        }
        catch (AkToolsException e) when (e.EmptyResult)
        {
            tally.EmptyAnswer = e.Message;
        }

        await write.AnsweredAsync(ct);
        if (answer is null) return;
        using (answer)
        {
            await WriteBatchesAsync(answer, call, write, tally, ct);
        }
    }

    private async Task TakeTurnAsync(PartCall call, PartTally tally, int attempt, CancellationToken ct)
    {
        tally.Trying(attempt);
        await rates.WaitTurnAsync(call.Family, ct);
        await RecordCallAsync(call.ExecutionId, ct);
    }

    private static async Task WriteBatchesAsync(AkToolsClient.Answer answer, PartCall call, RunWrite write, PartTally tally, CancellationToken ct)
    {
        var batches = Channel.CreateBounded<PreparedBatch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        // Written batches come back to be filled again: three batches' buffers serve the whole call.
        var spare = new ConcurrentBag<RowBatch>();
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in answer.Rows.BatchesAsync(call.DatedColumns, call.ExtraColumns, () => spare.TryTake(out var used) ? used : null, reading.Token))
                {
                    tally.AddFetched(batch.Count);
                    await batches.Writer.WriteAsync(await write.PrepareAsync(batch, reading.Token), reading.Token);
                }

                batches.Writer.TryComplete();
            }
            catch (Exception e)
            {
                batches.Writer.TryComplete(e);
            }
        }, CancellationToken.None);

        try
        {
            while (await batches.Reader.WaitToReadAsync(ct))
            {
                while (batches.Reader.TryRead(out var batch))
                {
                    if (batch.Batch.Count > 0) tally.AddWritten(await write.WriteAsync(batch, ct), batch.Batch.Count, answer);
                    spare.Add(await write.RecycleAsync(batch));
                }
            }
        }
        finally
        {
            await reading.CancelAsync();
            await reader;
        }
    }

    /// <summary>
    /// Stored, not kept in memory: the run's calls_per_second counts the calls of every instance taking part. Only a
    /// figure to watch, so a record the database refuses does not fail the call about to be made.
    /// </summary>
    private async Task RecordCallAsync(string executionId, CancellationToken ct)
    {
        try
        {
            await calls.RecordAsync(executionId, ct);
        }
        catch (Exception e) when (Database.IsOutage(e))
        {
            logger.LogDebug(e, "A call of parted execution {ExecutionId} was not recorded for its rate", executionId);
        }
    }
}
