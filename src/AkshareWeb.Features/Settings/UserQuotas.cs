using System.Security.Cryptography;
using System.Text;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

/// <summary>
/// The quotas of ordinary users (admins have none), read from the settings at every check, so a change applies at
/// once on every instance. Each check runs under a per-user MySQL lock, so two requests at the same moment cannot
/// both take the last place.
/// </summary>
public sealed class UserQuotas(Database database, SystemSettings settings, TimeProvider time)
{
    /// <summary>A script test row older than this no longer counts: its instance died before removing it.</summary>
    private static readonly TimeSpan StaleScriptTest = TimeSpan.FromMinutes(30);

    // A run without a task is a download or a user's retry of one: both are the user's ad-hoc work.
    private const string CountRunning = """
        SELECT (SELECT COUNT(*) FROM executions
                WHERE user_id = @userId AND task_id IS NULL AND status IN ('pending', 'running'))
             + (SELECT COUNT(*) FROM script_test_runs WHERE user_id = @userId AND started_at > @staleBefore)
        """;

    /// <summary>
    /// Takes a place among the user's running ad-hoc work (downloads and script tests) or answers 429 naming the
    /// quota. Dispose the lease once the download's execution row exists (it then counts by itself) or, for a
    /// script test, once the test has ended.
    /// </summary>
    public Task<AdhocLease> EnterAdhocAsync(Caller caller, bool scriptTest, CancellationToken ct) =>
        EnterAdhocAsync(caller.Id, caller.IsAdmin, scriptTest, ct);

    /// <summary>The same for a caller given as id and role. (Issue 15: kept for Executions' RetryExecution until it
    /// carries a <see cref="Caller"/>; remove it then.)</summary>
    public async Task<AdhocLease> EnterAdhocAsync(long userId, bool isAdmin, bool scriptTest, CancellationToken ct)
    {
        if (isAdmin)
        {
            return new AdhocLease(database, null, null, null);
        }

        var limit = (await settings.GetExecutionSettingsAsync(ct)).UserMaxRunningJobs;
        var connection = await LockUserAsync(userId, ct);
        try
        {
            var running = await connection.ExecuteScalarAsync<long>(new CommandDefinition(CountRunning,
                new { userId, staleBefore = time.GetUtcNow().UtcDateTime - StaleScriptTest }, cancellationToken: ct));
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
                    """, new { userId, now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct));
            }

            return new AdhocLease(database, connection, LockName(connection, userId), testRow);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Answers 409 naming the quota when the user already owns as many tasks as allowed.</summary>
    public async Task<IAsyncDisposable> EnterTaskCreationAsync(long userId, bool isAdmin, CancellationToken ct)
    {
        if (isAdmin)
        {
            return new AdhocLease(database, null, null, null);
        }

        var limit = (await settings.GetExecutionSettingsAsync(ct)).UserMaxTasks;
        var connection = await LockUserAsync(userId, ct);
        try
        {
            var owned = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM scheduled_tasks WHERE owner_id = @userId", new { userId }, cancellationToken: ct));
            if (owned >= limit)
            {
                throw new ApiError(409, ErrorCodes.General,
                    $"quota user_max_tasks reached: a user may own at most {limit} tasks; delete one first",
                    new { quota = "user_max_tasks", limit, owned });
            }

            return new AdhocLease(database, connection, LockName(connection, userId), null);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Answers 409 naming the quota when an ordinary user's schedule runs more often than allowed.
    /// <paramref name="shortestGap"/> gets the quota and may stop looking at the first gap shorter than it.</summary>
    public async Task CheckScheduleAsync(Func<TimeSpan, TimeSpan?> shortestGap, bool isAdmin, CancellationToken ct)
    {
        if (isAdmin)
        {
            return;
        }

        var minutes = (await settings.GetExecutionSettingsAsync(ct)).UserMinScheduleMinutes;
        if (shortestGap(TimeSpan.FromMinutes(minutes)) is { } gap && gap < TimeSpan.FromMinutes(minutes))
        {
            throw new ApiError(409, ErrorCodes.General,
                $"quota user_min_schedule_minutes: a user's task may run at most every {minutes} minutes; this schedule runs {gap.TotalSeconds:0} s apart",
                new { quota = "user_min_schedule_minutes", limit = minutes, shortest_gap_seconds = (long)gap.TotalSeconds });
        }
    }

    private async Task<MySqlConnection> LockUserAsync(long userId, CancellationToken ct)
    {
        var connection = await database.OpenAsync(ct);
        try
        {
            var got = await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
                "SELECT GET_LOCK(@name, 10)", new { name = LockName(connection, userId) }, cancellationToken: ct));
            if (got != 1)
            {
                throw new ApiError(429, ErrorCodes.General, "too many requests of yours at once; try again") { RetryAfterSeconds = 1 };
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    // Lock names are server-wide: the database name keeps two AkshareWeb databases on one server apart.
    private static string LockName(MySqlConnection connection, long userId) =>
        $"akshareweb:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(connection.Database)))[..16]}:quota:{userId}";

    /// <summary>Holds the user's quota lock until disposed; for a script test, then keeps its row until
    /// <see cref="EndScriptTestAsync()"/>.</summary>
    public sealed class AdhocLease(Database database, MySqlConnection? connection, string? lockName, long? scriptTestRow) : IAsyncDisposable
    {
        private MySqlConnection? held = connection;

        /// <summary>Lets the next request of the user be checked; what this one started now counts by itself.</summary>
        public async ValueTask DisposeAsync()
        {
            if (held is null) return;
            try
            {
                await held.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name = lockName }));
            }
            finally
            {
                await held.DisposeAsync();
                held = null;
            }
        }

        /// <summary>The script test has ended: it no longer counts.</summary>
        public async Task EndScriptTestAsync()
        {
            if (scriptTestRow is not { } id) return;
            await using var db = await database.OpenAsync(CancellationToken.None);
            await db.ExecuteAsync(new CommandDefinition("DELETE FROM script_test_runs WHERE id = @id", new { id }));
        }
    }
}
