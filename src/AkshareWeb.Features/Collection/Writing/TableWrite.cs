using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    /// <summary>
    /// One run's write into its table: opened by <see cref="WarehouseWriter.OpenAsync"/>, then batch by batch
    /// <see cref="Prepare"/> (reading side) and <see cref="WriteAsync"/>, then <see cref="FinishAsync"/> or
    /// <see cref="AbandonAsync"/>. Its parts: the table's shape (TableWrite.Shape, .Columns), the natural key's index
    /// (.Keys), rendering a batch (.Rendering), loading rows (.Loading), merging by key (.Merge), and the end of the
    /// run with the replace swap and the readers' indexes (.Finish).
    /// </summary>
    public sealed partial class TableWrite : IAsyncDisposable
    {
        private MySqlConnection connection;
        private readonly Func<CancellationToken, Task<MySqlConnection>> reconnect;
        private readonly TimeSpan patience;
        private readonly TimeProvider time;
        private readonly WriteTarget target;
        private readonly TableShape shape = new();
        private readonly KeyIndexState keyIndex = new();
        private readonly LoadPath path = new();
        private readonly BatchBuffers buffers = new();
        private readonly IReplacementCheck? replacementCheck;
        private readonly Func<WriteStep, Task>? checkpoint;

        internal TableWrite(MySqlConnection connection, Func<CancellationToken, Task<MySqlConnection>> reconnect, TimeSpan patience,
            TableDestination destination, string executionId, TimeProvider time, bool useBulk, bool shared = false,
            IReplacementCheck? replacementCheck = null, Func<WriteStep, Task>? checkpoint = null)
        {
            (this.connection, this.reconnect, this.patience) = (connection, reconnect, patience);
            this.replacementCheck = replacementCheck;
            this.time = time;
            this.checkpoint = checkpoint;
            // Replace mode fills a fresh table and swaps it in at the end; readers never see a half table.
            var table = destination.WriteMode == WriteModes.Replace ? destination.Table[..Math.Min(destination.Table.Length, 55)] + "__replace" : destination.Table;
            target = new WriteTarget(destination, executionId, table, destination.WriteMode == WriteModes.Upsert ? destination.KeyColumns : [], shared);
            path.UseBulk = useBulk;
        }

        public long RowsBefore { get; private set; }
        public bool TableCreated { get; private set; }
        public int ColumnsAdded { get; private set; }
        public int ColumnsWidened { get; private set; }
        /// <summary>Rows of this run dropped when the key index was built because a newer row had the same key.</summary>
        public long DuplicatesRemoved { get; private set; }
        /// <summary>The table's unique index was on another key than the script's (or on whole rows), and was rebuilt on the script's.</summary>
        public bool KeyRebuilt { get; private set; }
        /// <summary>Rows of earlier runs that the rebuilt key found to be one row: the newest of each stayed.</summary>
        public long EarlierDuplicatesRemoved { get; private set; }
        /// <summary>Indexes for reading the table that it lacks once the run has ended; see <see cref="AddIndexesAsync"/>.</summary>
        public IReadOnlyList<BrowsingIndex> BrowsingIndexes { get; private set; } = [];

        internal async Task StartAsync(CancellationToken ct)
        {
            var targetExists = await TableExistsAsync(target.Destination.Table, ct);
            RowsBefore = targetExists ? await CountAsync(target.Destination.Table, ct) : 0;
            // The shape is read (and a replace's fresh table dropped) under the table's lock, as every change of it is
            // made: another writer's change is never seen half done.
            await LockAsync(ct);
            try
            {
                if (target.Destination.WriteMode == WriteModes.Replace)
                {
                    await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {ColumnNames.Quote(target.Table)}", cancellationToken: ct));
                    shape.Exists = false;
                    path.StraightIn = true;
                }
                else
                {
                    shape.Exists = await TableExistsAsync(target.Table, ct);
                    path.StraightIn = RowsBefore == 0;
                    if (shape.Exists) await LoadColumnsAsync(ct);
                }
            }
            finally
            {
                await UnlockAsync();
            }

            if (shape.Exists) Publish();
        }

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
            await LockAsync(ct);
            try
            {
                await EnsureTableAsync(batch, ct);
                Publish();
                foreach (var key in target.KeyColumns)
                {
                    if (IndexOf(batch, key) < 0)
                    {
                        throw new InvalidOperationException($"the key column {key} is not in the data (columns: {string.Join(", ", batch.Columns)})");
                    }
                }

                var current = shape.Published!;
                if (prepared.Schema != current) Fill(prepared, current);
                var (rendered, rows, fields) = (prepared.Rendered!, prepared.Rows!, prepared.Fields!);
                if (path.StraightIn && !rendered.AnyNullKey(rows))
                {
                    await using var transaction = await connection.BeginTransactionAsync(ct);
                    var (inserted, warnings) = await LoadAsync(target.Table, fields, rows, rendered, null, ignore: true, transaction, ct, prepared.Load, byDefault: path.OwnDefaults);
                    if (inserted == rows.Count)
                    {
                        await FailOnWarningsAsync(warnings, transaction, ct);
                        await transaction.CommitAsync(ct);
                        return new BatchResult(inserted, 0);
                    }

                    // Some rows were there already: undo and sort the batch out row by row.
                    await transaction.RollbackAsync(ct);
                    path.StraightIn = false;
                }

                // Looking keys up needs the key's index; rows written from here on name this run themselves.
                await EnsureIndexesAsync(ct);
                await DropDefaultsAsync();
                return await MergeAsync(batch, rendered, rows, fields, ct);
            }
            finally
            {
                await UnlockAsync();
            }
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();

        /// <summary>Takes <paramref name="table"/>'s write lock (<see cref="TableLock"/>; the target's by default). A
        /// session may take one lock again while it holds it (nested), releasing it as many times.</summary>
        private async Task LockAsync(CancellationToken ct, string? table = null)
        {
            table ??= target.Table;
            if (checkpoint is not null) await checkpoint(new WriteStep(table, target.ExecutionId, WriteStep.Lock));
            if (!await TableLock.TryTakeAsync(connection, table, ct)) throw new InvalidOperationException($"another run kept {table} locked for 10 minutes");
        }

        private async Task UnlockAsync(string? table = null)
        {
            try
            {
                await TableLock.ReleaseAsync(connection, table ?? target.Table);
            }
            catch (Exception e) when (Failover.IsUnavailable(e))
            {
                // The session is gone, and its lock with it; the step's own failure is the one to report.
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
            if (Failover.IsUnavailable(failure))
            {
                try
                {
                    await connection.DisposeAsync();
                }
                catch (Exception e) when (Failover.IsUnavailable(e))
                {
                }

                connection = await reconnect(ct);
            }

            // Under the table's lock, as every change of the shape is made (see StartAsync).
            await LockAsync(ct);
            try
            {
                shape.Columns.Clear();
                shape.Exists = await TableExistsAsync(target.Table, ct);
                path.StraightIn = true;
                if (!shape.Exists) return;
                await LoadColumnsAsync(ct);
                Publish();
                path.StraightIn = !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    $"SELECT EXISTS (SELECT 1 FROM {ColumnNames.Quote(target.Table)})", cancellationToken: ct));
            }
            finally
            {
                await UnlockAsync();
            }
        }
    }
}

/// <summary>A step of a table write, for a test's <see cref="WarehouseWriter.Checkpoint"/>: <see cref="Lock"/> before
/// the write waits for a table's lock, <see cref="KeyIndex"/> under the lock before it looks for its key's index.</summary>
internal sealed record WriteStep(string Table, string ExecutionId, string Step)
{
    public const string Lock = "lock";
    public const string KeyIndex = "key-index";
}
