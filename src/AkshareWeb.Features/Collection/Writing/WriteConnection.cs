using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// A write's own connection to the warehouse, with the questions every part of the write asks about tables, and the
/// tables' write locks (<see cref="TableLock"/>): writers of one table take turns. The connection is replaced when its
/// node is lost (<see cref="ReconnectAsync"/>), so a part of the write asks for it anew on every call and keeps none.
/// </summary>
internal sealed class WriteConnection : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<MySqlConnection>> reconnect;
    private readonly FilledTable table;
    private readonly Func<WriteStep, Task>? checkpoint;
    private MySqlConnection connection;

    public WriteConnection(MySqlConnection connection, Func<CancellationToken, Task<MySqlConnection>> reconnect, FilledTable table, Func<WriteStep, Task>? checkpoint)
    {
        (this.connection, this.reconnect, this.table, this.checkpoint) = (connection, reconnect, table, checkpoint);
    }

    public MySqlConnection Connection => connection;

    public async Task<bool> ExistsAsync(string name, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
            new { table = name }, cancellationToken: ct)) > 0;

    public async Task<long> CountAsync(string name, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(name)}", commandTimeout: 0, cancellationToken: ct));

    /// <summary>Whether the filled table holds any row.</summary>
    public Task<bool> AnyRowsAsync(CancellationToken ct) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition($"SELECT EXISTS (SELECT 1 FROM {table.Quoted})", cancellationToken: ct));

    /// <summary>The names of the filled table's indexes.</summary>
    public Task<HashSet<string>> IndexNamesAsync(CancellationToken ct) => ReaderIndexes.NamesAsync(connection, table.Name, ct);

    public Task ExecuteAsync(string sql, MySqlTransaction? transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, commandTimeout: 0, cancellationToken: ct));

    /// <summary>A test's look at a step of the write (<see cref="WarehouseWriter.Checkpoint"/>); nothing in the service.</summary>
    public async Task CheckpointAsync(string step, string? name = null)
    {
        if (checkpoint is not null) await checkpoint(new WriteStep(name ?? table.Name, table.ExecutionId, step));
    }

    /// <summary>Takes <paramref name="name"/>'s write lock (<see cref="TableLock"/>; the filled table's by default). A
    /// session may take one lock again while it holds it (nested), releasing it as many times.</summary>
    public async Task LockAsync(CancellationToken ct, string? name = null)
    {
        name ??= table.Name;
        await CheckpointAsync(WriteStep.Lock, name);
        if (!await TableLock.TryTakeAsync(connection, name, ct)) throw new InvalidOperationException($"another run kept {name} locked for 10 minutes");
    }

    public async Task UnlockAsync(string? name = null)
    {
        try
        {
            await TableLock.ReleaseAsync(connection, name ?? table.Name);
        }
        catch (Exception e) when (Failover.IsUnavailable(e))
        {
            // The session is gone, and its lock with it; the step's own failure is the one to report.
        }
    }

    /// <summary>A new connection in place of one whose node was lost (the next one goes to another node).</summary>
    public async Task ReconnectAsync(CancellationToken ct)
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

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
