using AkshareWeb.Features.Collection;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// A run's one write to its table (<see cref="TableWrite"/>, which keeps state across batches: the key's index built
/// once, the defaults naming the run), shared in turn by the parts a parted run runs here: fetching, the slow part, runs
/// in parallel, and writing a batch takes milliseconds. A single run opens it once its answer came (its rows_before is
/// the table as the answer found it) and renders its next batch while the current one is written; a parted run opens it
/// with its first batch and renders each batch in its turn too, as its parts may widen the table under one another.
/// </summary>
public sealed class RunWrite(WarehouseWriter writer, ExecutionPlan plan, string executionId, bool parted) : IAsyncDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private bool disposed;

    /// <summary>The open write; null until then.</summary>
    public TableWrite? Table { get; private set; }

    /// <summary>The answer came (with rows or without): a single run opens its write now.</summary>
    public async Task AnsweredAsync(CancellationToken ct)
    {
        if (!parted) Table ??= await writer.OpenAsync(plan.Destination, executionId, ct);
    }

    public async Task<PreparedBatch> PrepareAsync(RowBatch batch, CancellationToken ct)
    {
        if (!parted) return Table!.Prepare(batch);
        await gate.WaitAsync(ct);
        try
        {
            // Several writes of a parted run may go on at once on other instances.
            Table ??= await writer.OpenAsync(plan.Destination, executionId, ct, shared: true);
            return Table.Prepare(batch);
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<BatchResult> WriteAsync(PreparedBatch batch, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            return await Table!.WriteAsync(batch, ct);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A written batch's rows, to be filled again.</summary>
    public async Task<RowBatch> RecycleAsync(PreparedBatch batch)
    {
        if (!parted) return Table!.Recycle(batch);
        await gate.WaitAsync(CancellationToken.None);
        try
        {
            return Table!.Recycle(batch);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Closes the write's connection; what the write did to the table stays readable on <see cref="Table"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        try
        {
            if (Table is { } table) await table.DisposeAsync();
        }
        finally
        {
            gate.Dispose();
        }
    }
}
