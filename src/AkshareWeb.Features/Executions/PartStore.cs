using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Executions;

/// <summary>Statuses of a part of a parted run (execution_parts.status).</summary>
public static class PartStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public static readonly string[] All = [Pending, Running, Completed, Failed, Cancelled];
}

/// <summary>
/// SQL on <c>execution_parts</c> that runs inside a transaction of <see cref="ExecutionStore"/>: the parts a
/// retry repeats and the parts the watchdog frees.
/// </summary>
internal static class PartStore
{
    /// <summary>The parts of <paramref name="from"/> that did not succeed become pending parts of <paramref name="to"/>.</summary>
    public static Task CopyUnfinishedAsync(MySqlConnection connection, MySqlTransaction transaction, string from, string to, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO execution_parts (execution_id, part_no, parameters, status)
            SELECT @to, part_no, parameters, 'pending' FROM execution_parts
            WHERE execution_id = @from AND status IN ('failed', 'cancelled', 'pending', 'running')
            """, new { to, from }, transaction, cancellationToken: ct));

    /// <summary>A part whose runner stopped answering goes back to pending: the run it belongs to is not failed,
    /// its other parts go on, and an instance that takes part (PartsPump) runs this one again.</summary>
    public static Task<int> FreeStaleAsync(MySqlConnection connection, MySqlTransaction transaction, DateTime staleBefore, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            UPDATE execution_parts SET status = 'pending', worker = NULL, heartbeat_at = NULL
            WHERE status = 'running' AND heartbeat_at < @staleBefore
            """, new { staleBefore }, transaction, cancellationToken: ct));
}
