using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// <c>execution_calls</c>: one row per AKTools call (a try) of a parted run, at the database's clock, which every
/// instance shares, so a run's calls_per_second counts the calls of every instance taking part. Kept for the rate's
/// window and a little more: a run's heartbeat and its end drop its own, the watchdogs sweep what runs that ended
/// otherwise left behind.
/// </summary>
public sealed class CallStore(Database database)
{
    /// <summary>One AKTools call (a try) of the run, at the database's clock.</summary>
    public async Task RecordAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO execution_calls (execution_id, called_at) VALUES (@executionId, UTC_TIMESTAMP(6))", new { executionId }, cancellationToken: ct));
    }

    /// <summary>The run's calls older than the rate's window, on the caller's connection (the run's heartbeat).</summary>
    public static Task ForgetOldAsync(MySqlConnection connection, string executionId, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM execution_calls WHERE execution_id = @executionId AND called_at < UTC_TIMESTAMP(6) - INTERVAL 2 MINUTE",
            new { executionId }, cancellationToken: ct));

    /// <summary>An ended run makes no more calls: its rate is 0 from now on, and its calls are not kept.</summary>
    public async Task ForgetRunAsync(string executionId)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM execution_calls WHERE execution_id = @executionId", new { executionId }));
    }

    /// <summary>
    /// Calls older than the rate's window of every run: a run's own heartbeat and end drop its rows, but a run that
    /// ended otherwise (its instance died, a recovery failed it) leaves them; the watchdogs sweep those.
    /// </summary>
    public async Task<int> ForgetAllOldAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM execution_calls WHERE called_at < UTC_TIMESTAMP(6) - INTERVAL 2 MINUTE LIMIT 10000", cancellationToken: ct));
    }
}
