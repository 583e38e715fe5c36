using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// One run's write into its table: opened by <see cref="WarehouseWriter.OpenAsync"/>, then batch by batch
/// <see cref="Prepare"/> (on the reading side) and <see cref="WriteAsync"/>, then <see cref="FinishAsync"/> or
/// <see cref="AbandonAsync"/>. Its jobs are types of their own: the table's columns (<see cref="TableShape"/>), the
/// natural key's index (<see cref="NaturalKeyIndex"/>), the bookkeeping defaults (<see cref="BookkeepingDefaults"/>),
/// rendering (<see cref="BatchRenderer"/>), loading (<see cref="RowLoader"/>), merging by key (<see cref="KeyedMerge"/>)
/// and the end (<see cref="WriteEnd"/>); this type decides, batch by batch, which way the rows go in, holds the
/// table's lock while it does, and repeats a step whose connection or transaction was lost.
/// </summary>
public sealed class TableWrite : IAsyncDisposable
{
    private readonly WriteConnection db;
    private readonly TimeSpan patience;
    private readonly FilledTable table;
    private readonly TableShape shape;
    private readonly NaturalKeyIndex keys;
    private readonly BookkeepingDefaults defaults;
    private readonly RowLoader loader;
    private readonly BatchRenderer renderer;
    private readonly KeyedMerge merge;
    private readonly WriteEnd end;

    internal TableWrite(MySqlConnection connection, Func<CancellationToken, Task<MySqlConnection>> reconnect, TimeSpan patience,
        TableDestination destination, string executionId, TimeProvider time, bool useBulk, bool shared = false,
        IReplacementCheck? replacementCheck = null, Func<WriteStep, Task>? checkpoint = null)
    {
        this.patience = patience;
        table = FilledTable.Of(destination, executionId, shared);
        db = new WriteConnection(connection, reconnect, table, checkpoint);
        shape = new TableShape(db, table, time);
        keys = new NaturalKeyIndex(db, table, shape);
        defaults = new BookkeepingDefaults(db, table);
        loader = new RowLoader(db, table, shape, time, useBulk);
        renderer = new BatchRenderer(table, shape, loader);
        merge = new KeyedMerge(db, table, shape, loader, time);
        end = new WriteEnd(db, table, shape, keys, defaults, replacementCheck);
    }

    public long RowsBefore { get; private set; }

    /// <summary>This write created the table readers see (in replace mode: where there was none before).</summary>
    public bool TableCreated => shape.Created && (!table.Replaces || RowsBefore == 0);

    public int ColumnsAdded => shape.ColumnsAdded;

    public int ColumnsWidened => shape.ColumnsWidened;

    /// <summary>Rows of this run dropped when the key index was built because a newer row had the same key.</summary>
    public long DuplicatesRemoved => keys.DuplicatesRemoved;

    /// <summary>The table's unique index was on another key than the script's (or on whole rows), and was rebuilt on the script's.</summary>
    public bool KeyRebuilt => keys.Rebuilt;

    /// <summary>Rows of earlier runs that the rebuilt key found to be one row: the newest of each stayed.</summary>
    public long EarlierDuplicatesRemoved => keys.EarlierDuplicatesRemoved;

    /// <summary>Indexes for reading the table that it lacks once the run has ended; see <see cref="WarehouseWriter.AddIndexesAsync"/>.</summary>
    public IReadOnlyList<ReaderIndex> BrowsingIndexes => end.BrowsingIndexes;

    internal async Task StartAsync(CancellationToken ct)
    {
        var targetExists = await db.ExistsAsync(table.Destination.Table, ct);
        RowsBefore = targetExists ? await db.CountAsync(table.Destination.Table, ct) : 0;
        // The shape is read (and a replace's fresh table dropped) under the table's lock, as every change of it is
        // made: another writer's change is never seen half done.
        await db.LockAsync(ct);
        try
        {
            if (table.Replaces)
            {
                await db.Connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {table.Quoted}", cancellationToken: ct));
                shape.Exists = false;
                loader.StraightIn = true;
            }
            else
            {
                loader.StraightIn = RowsBefore == 0;
                await ReadTableAsync(ct);
            }
        }
        finally
        {
            await db.UnlockAsync();
        }

        if (shape.Exists) shape.Publish();
    }

    /// <summary>
    /// Renders a batch ahead of its turn (on the reading side, while the batch before it is being written), against
    /// the table's columns as they are now. When the batch turns out to need new or wider columns,
    /// <see cref="WriteAsync"/> renders it again after changing the table.
    /// </summary>
    public PreparedBatch Prepare(RowBatch batch) => renderer.Prepare(batch);

    /// <summary>Gives a written batch's buffers back for the batches to come; returns its rows for reuse.</summary>
    public RowBatch Recycle(PreparedBatch prepared) => renderer.Recycle(prepared);

    /// <summary>
    /// Writes one batch under the table's lock, held from the table's DDL (made or widened for the batch) to the
    /// batch's last row: two writers of one table never change it while the other looks at it or writes. A lost
    /// connection or certification repeats it whole (<see cref="RepeatableAsync"/>).
    /// </summary>
    public Task<BatchResult> WriteAsync(PreparedBatch prepared, CancellationToken ct) =>
        prepared.Batch.Count == 0 ? Task.FromResult<BatchResult>(default) : RepeatableAsync(token => WriteOnceAsync(prepared, token), ct);

    private async Task<BatchResult> WriteOnceAsync(PreparedBatch prepared, CancellationToken ct)
    {
        var batch = prepared.Batch;
        await db.LockAsync(ct);
        try
        {
            await EnsureTableAsync(batch, ct);
            shape.Publish();
            foreach (var key in table.KeyColumns)
            {
                if (batch.IndexOf(key) < 0)
                {
                    throw new InvalidOperationException($"the key column {key} is not in the data (columns: {string.Join(", ", batch.Columns)})");
                }
            }

            var current = shape.Published!;
            if (prepared.Shape != current) renderer.Fill(prepared, current);
            var (rendering, rows, fields) = (prepared.Rendering!, prepared.Rows!, prepared.Fields!);
            if (loader.StraightIn && !rendering.AnyNullKey(rows))
            {
                await using var transaction = await db.Connection.BeginTransactionAsync(ct);
                var (inserted, warnings) = await loader.LoadAsync(table.Name, fields, rows, rendering, null, ignore: true, transaction, ct, prepared.Load, byDefault: defaults.Own);
                if (inserted == rows.Count)
                {
                    await loader.FailOnWarningsAsync(warnings, transaction, ct);
                    await transaction.CommitAsync(ct);
                    return new BatchResult(inserted, 0);
                }

                // Some rows were there already: undo and sort the batch out row by row.
                await transaction.RollbackAsync(ct);
                loader.StraightIn = false;
            }

            // Looking keys up needs the key's index; rows written from here on name this run themselves.
            await keys.EnsureAsync(ct);
            await defaults.DropAsync();
            return await merge.MergeAsync(batch, rendering, rows, fields, ct);
        }
        finally
        {
            await db.UnlockAsync();
        }
    }

    /// <summary>Ends the write; in replace mode swaps the new table in. Done again, whole, after a lost connection or
    /// certification (<see cref="RepeatableAsync"/>). The destination's rows once done.</summary>
    public Task<long> FinishAsync(CancellationToken ct) => RepeatableAsync(end.FinishAsync, ct);

    /// <summary>Ends a write that failed.</summary>
    public Task AbandonAsync() => end.AbandonAsync();

    /// <summary>The destination's rows as they are now (after a failure, when <see cref="FinishAsync"/> did not run).</summary>
    public Task<long> CountRowsAsync() => end.CountAsync();

    public ValueTask DisposeAsync() => db.DisposeAsync();

    /// <summary>
    /// Learns the table as it is now (whether it exists, its columns, whose bookkeeping defaults they are, what its
    /// key's index needs). Called under the table's lock.
    /// </summary>
    private async Task ReadTableAsync(CancellationToken ct)
    {
        shape.Columns.Clear();
        shape.Exists = await db.ExistsAsync(table.Name, ct);
        if (!shape.Exists) return;
        var facts = await shape.ReadAsync(ct);
        defaults.Observe(facts);
        await keys.InspectAsync(facts, ct);
    }

    /// <summary>Makes the table fit the batch (<see cref="TableShape.EnsureAsync"/>), reading it again as often as
    /// the shape asks: before its first change, after creating it, after another writer's column got in the way.</summary>
    private async Task EnsureTableAsync(RowBatch batch, CancellationToken ct)
    {
        var reread = false;
        while (true)
        {
            var change = await shape.EnsureAsync(batch, reread, ct);
            if (change == ShapeChange.Ready) return;
            if (change == ShapeChange.Created) await defaults.CreatedAsync();
            // Taken as the table now is (made by hand meanwhile, it may differ from what was asked for).
            await ReadTableAsync(ct);
            reread = true;
        }
    }

    /// <summary>
    /// A step of the write (a batch, the end) that is done again, as a whole, when its connection broke (the node
    /// it was on died: the next connection goes to another) or its transaction lost a conflict (1213, a Galera
    /// certification failure): <see cref="Failover"/>. The table lock is taken again with it: a lock does not
    /// survive its session, and nothing here assumes it did.
    /// </summary>
    private Task<T> RepeatableAsync<T>(Func<CancellationToken, Task<T>> step, CancellationToken ct) =>
        Failover.RetryAsync(step, patience, ct, RecoverAsync);

    /// <summary>
    /// Before a step is done again: a new connection if the old one broke, and the table as it is now, since a
    /// COMMIT whose answer was lost may or may not have happened and another writer's DDL may have run meanwhile.
    /// Rows then go straight in only while the table is empty; otherwise by key, so a batch that did commit
    /// is found again rather than loaded twice.
    /// </summary>
    private async Task RecoverAsync(Exception failure, CancellationToken ct)
    {
        if (Failover.IsUnavailable(failure)) await db.ReconnectAsync(ct);

        // Under the table's lock, as every change of the shape is made (see StartAsync).
        await db.LockAsync(ct);
        try
        {
            loader.StraightIn = true;
            await ReadTableAsync(ct);
            if (!shape.Exists) return;
            shape.Publish();
            loader.StraightIn = !await db.AnyRowsAsync(ct);
        }
        finally
        {
            await db.UnlockAsync();
        }
    }
}
