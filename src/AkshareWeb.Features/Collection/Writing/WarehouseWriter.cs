using Dapper;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// Opens writes of runs into their ak_* tables (<see cref="TableWrite"/> is the write, batch by batch), and builds the
/// indexes a run left for its readers.
/// <para>How a row is recognised again: in upsert mode by its natural key, under a unique index on the key columns
/// themselves (rows arrive roughly in key order, so the index grows at its end); in append and replace mode, or
/// when the key columns cannot be indexed, by <c>_row_key</c>, the XXH128 of the key (of all values in append
/// mode), under a unique index. <c>_row_hash</c> (of all non-null values) tells a changed row from an unchanged one.</para>
/// <para>Each batch, under the table's lock (<see cref="TableLock"/>, across instances): widen the table for the
/// batch's columns (DDL, which MySQL commits by itself and which never removes or narrows anything); render the
/// values as MySQL reads them; then, in one transaction, either load every row straight into the table (while the table is new to them: the load must
/// insert them all, else it is rolled back and the batch takes the other way) or look the batch's keys up,
/// load the new rows and update the changed ones by id. A failed batch leaves the table as it was before it. Every
/// other change of a table's shape by a writer (its key's index, dropped defaults, a replace's swap) and every read of
/// that shape are made under the same lock, so two runs on one new table never change it under each other.</para>
/// </summary>
public sealed class WarehouseWriter(WarehouseDatabase warehouse, TimeProvider time, IOptions<CollectionOptions> options, IEnumerable<IReplacementCheck> checks)
{
    /// <param name="shared">Several writes of the one run at once (a parted run on two instances): none of them relies on
    /// the bookkeeping columns' defaults naming the run, which another could drop under it.</param>
    public async Task<TableWrite> OpenAsync(TableDestination destination, string executionId, CancellationToken ct, bool shared = false)
    {
        if (!TableNames.IsWarehouseTable(destination.Table))
        {
            throw new InvalidOperationException($"target table {destination.Table} is not {TableNames.Rule}");
        }

        // Opened again, whole, after a lost node or certification (see TableWrite.RepeatableAsync).
        return await Failover.RetryAsync(async token =>
        {
            var connection = await warehouse.OpenAsync(token);
            try
            {
                var check = destination.WriteMode == WriteModes.Replace ? checks.FirstOrDefault(c => c.Table == destination.Table) : null;
                var write = new TableWrite(connection, warehouse.OpenAsync, warehouse.Patience, destination, executionId, time, options.Value.UseBulkLoad, shared, check, Checkpoint);
                await write.StartAsync(token);
                return write;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }, warehouse.Patience, ct);
    }

    /// <summary>The rows <paramref name="table"/> holds now; 0 while it does not exist.</summary>
    public async Task<long> CountRowsAsync(string table, CancellationToken ct)
    {
        await using var connection = await warehouse.OpenAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table", new { table }, cancellationToken: ct));
        return exists == 0 ? 0 : await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(table)}", cancellationToken: ct));
    }

    /// <summary>Tests only: awaited at the steps of every write (<see cref="WriteStep"/>), so a test can hold one
    /// writer at a step and see what another does meanwhile. Null in the service.</summary>
    internal Func<WriteStep, Task>? Checkpoint { get; set; }

    /// <summary>
    /// Builds indexes a run left for later (<see cref="TableWrite.BrowsingIndexes"/>) under the table's write lock
    /// (<see cref="ReaderIndexes.BuildAsync"/>). If it never happens (the service stopped), the next run on the
    /// table finds the index missing and leaves it for later again. True when an index was built.
    /// </summary>
    public Task<bool> AddIndexesAsync(string table, IReadOnlyList<ReaderIndex> indexes, CancellationToken ct, int? lockWaitSeconds = null) =>
        ReaderIndexes.BuildAsync(warehouse, table, indexes, ct, lockWaitSeconds);
}
