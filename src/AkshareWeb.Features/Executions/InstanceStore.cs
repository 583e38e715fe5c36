using Dapper;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// <c>execution_instances</c>: one row per instance of the service, beaten by its watchdog. A run or part whose
/// heartbeat stopped is taken for dead only when its instance is silent too (or unknown, or stopped cleanly): an
/// instance that lost the database alone stops beating both and is alive.
/// </summary>
public sealed class InstanceStore(Database database, TimeProvider time)
{
    /// <summary>This instance is alive; rows of instances silent for a day go.</summary>
    public async Task BeatAsync(string worker, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO execution_instances (worker, started_at, heartbeat_at) VALUES (@worker, @now, @now)
              ON DUPLICATE KEY UPDATE heartbeat_at = @now;
            DELETE FROM execution_instances WHERE heartbeat_at < @longGone;
            """, new { worker, now, longGone = now.AddDays(-1) }, cancellationToken: ct));
    }

    /// <summary>A cleanly stopped instance: what it leaves running (nothing, normally) is judged at once by the others.</summary>
    public async Task LeaveAsync(string worker, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM execution_instances WHERE worker = @worker", new { worker }, cancellationToken: ct));
    }

    /// <summary>SQL: the worker of the row aliased <paramref name="alias"/> is this instance (@me), or an instance silent
    /// (or unknown) since @instanceSilentBefore.</summary>
    public static string WorkerGone(string alias) => $"""
        ({alias}.worker = @me OR NOT EXISTS (SELECT 1 FROM execution_instances i WHERE i.worker = {alias}.worker AND i.heartbeat_at >= @instanceSilentBefore))
        """;
}
