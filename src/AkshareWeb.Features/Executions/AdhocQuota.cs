using Dapper;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// The quota of an ordinary user's ad-hoc work (downloads, retries of them, script tests): at most
/// user_max_running_jobs at once, read from the settings at every check so a change applies at once everywhere.
/// </summary>
public sealed class AdhocQuota(Database database, ExecutionReads executions, SystemSettings settings, UserLock locks, TimeProvider time)
{
    /// <summary>A script test row older than this no longer counts: its instance died before removing it.</summary>
    private static readonly TimeSpan StaleScriptTest = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Takes a place among the caller's running ad-hoc work or answers 429 naming the quota. Dispose the lease once
    /// the download's execution row exists (it then counts by itself) or, for a script test, once the test has ended.
    /// </summary>
    public async Task<Lease> EnterAsync(Caller caller, bool scriptTest, CancellationToken ct)
    {
        if (caller.IsAdmin) return new Lease(database, null, null);

        var limit = (await settings.GetExecutionSettingsAsync(ct)).UserMaxRunningJobs;
        var held = await locks.TakeAsync(caller.Id, ct);
        try
        {
            var connection = held.Connection;
            var running = await executions.CountRunningAdhocAsync(connection, caller.Id, ct)
                + await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COUNT(*) FROM script_test_runs WHERE user_id = @userId AND started_at > @staleBefore",
                    new { userId = caller.Id, staleBefore = time.GetUtcNow().UtcDateTime - StaleScriptTest }, cancellationToken: ct));
            if (running >= limit)
            {
                throw new ApiError(429, ErrorCodes.General,
                    $"quota user_max_running_jobs reached: at most {limit} of your downloads and script tests may run at once; wait for one to finish",
                    new { quota = "user_max_running_jobs", limit, running }) { RetryAfterSeconds = 5 };
            }

            long? testRow = null;
            if (scriptTest)
            {
                testRow = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                    INSERT INTO script_test_runs (user_id, started_at) VALUES (@userId, @now);
                    SELECT LAST_INSERT_ID();
                    """, new { userId = caller.Id, now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct));
            }

            return new Lease(database, held, testRow);
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    /// <summary>Holds the user's quota lock until disposed; for a script test, then keeps its row until
    /// <see cref="EndScriptTestAsync()"/>.</summary>
    public sealed class Lease(Database database, UserLock.Held? held, long? scriptTestRow) : IAsyncDisposable
    {
        /// <summary>Lets the next request of the user be checked; what this one started now counts by itself.</summary>
        public ValueTask DisposeAsync() => held?.DisposeAsync() ?? ValueTask.CompletedTask;

        /// <summary>The script test has ended: it no longer counts.</summary>
        public async Task EndScriptTestAsync()
        {
            if (scriptTestRow is not { } id) return;
            await using var db = await database.OpenAsync(CancellationToken.None);
            await db.ExecuteAsync(new CommandDefinition("DELETE FROM script_test_runs WHERE id = @id", new { id }));
        }
    }
}
