using System.Diagnostics;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// DDL on a table readers use (replace mode's RENAME TABLE, a column's or a key's ALTER) waits for the metadata lock
/// every open read of the table holds, and while it waits every later read queues behind it: one long export would
/// stop the data page and every other export of the table. Each try waits at most <see cref="LockWaitSeconds"/>
/// (lock_wait_timeout, for this session only); a try that times out lets the reads through and is tried again after a
/// pause (1 s, doubling to 30 s), until the run's token ends it or <see cref="GiveUpAfter"/> has passed.
/// </summary>
public static class BoundedDdl
{
    public const int LockWaitSeconds = 5;

    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(30);

    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(30);

    public static async Task ExecuteAsync(MySqlConnection connection, string table, string sql, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var pause = TimeSpan.FromSeconds(1);
        await connection.ExecuteAsync(new CommandDefinition($"SET SESSION lock_wait_timeout = {LockWaitSeconds}", cancellationToken: ct));
        try
        {
            while (true)
            {
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(sql, commandTimeout: 0, cancellationToken: ct));
                    return;
                }
                catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockWaitTimeout && watch.Elapsed < GiveUpAfter)
                {
                    await Task.Delay(pause, ct);
                    pause = pause * 2 > LongestPause ? LongestPause : pause * 2;
                }
                catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockWaitTimeout)
                {
                    throw new InvalidOperationException(
                        $"the table {table} stayed in use by readers (a long export?) for {GiveUpAfter.TotalMinutes:0} minutes: its change waited for them, and gave up", e);
                }
            }
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await connection.ExecuteAsync(new CommandDefinition("SET SESSION lock_wait_timeout = DEFAULT"));
            }
        }
    }
}
