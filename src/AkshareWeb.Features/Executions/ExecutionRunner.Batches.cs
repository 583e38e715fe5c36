using System.Threading.Channels;
using AkshareWeb.Features.Collection;

namespace AkshareWeb.Features.Executions;

public sealed partial class ExecutionRunner
{
    /// <summary>
    /// Reading and writing overlap: one task parses and renders the next batch from AKTools while
    /// this one writes the current batch to MySQL. A failure on either side stops both.
    /// </summary>
    private static async Task ReadAndWriteAsync(AkToolsClient.Answer answer, ExecutionPlan plan, TableWrite write, RunProgress progress, CancellationToken ct)
    {
        var batches = Channel.CreateBounded<PreparedBatch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        // Written batches come back to be filled again: three batches' buffers serve the whole run.
        var spare = new System.Collections.Concurrent.ConcurrentBag<RowBatch>();
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader = Task.Run(async () =>
        {
            try
            {
                while (await answer.Rows.ReadAsync(BatchSize, BatchBytes, reading.Token, spare.TryTake(out var empty) ? empty : null) is { } batch)
                {
                    plan.DatedColumns?.Apply(batch);
                    foreach (var (name, value) in plan.ExtraColumns) batch.SetEverywhere(name, value);
                    Interlocked.Add(ref progress.Fetched, batch.Count);
                    await batches.Writer.WriteAsync(write.Prepare(batch), reading.Token);
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
                    await WriteAsync(write, batch, progress, answer, ct);
                    spare.Add(write.Recycle(batch));
                }
            }
        }
        finally
        {
            await reading.CancelAsync();
            await reader;
        }
    }

    private static async Task WriteAsync(TableWrite write, PreparedBatch batch, RunProgress progress, AkToolsClient.Answer answer, CancellationToken ct)
    {
        if (batch.Batch.Count == 0) return;
        var written = await write.WriteAsync(batch, ct);
        progress.Inserted += written.Inserted;
        progress.Updated += written.Updated;
        progress.Written += batch.Batch.Count;
        // With a known length, progress follows the bytes read; without one it creeps towards 95 by batches.
        progress.Percent = answer.ContentLength is > 0 and var length
            ? (int)Math.Clamp(95.0 * answer.BytesRead() / length, 1, 95)
            : (int)Math.Min(95, 95 * (1 - Math.Pow(0.8, progress.Written / (double)BatchSize)));
    }
}
