using AkshareWeb.Features.Common;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Tests.Common;

/// <summary>
/// The shared rule for what a repeat resolves, on the failures the database really gives: a deadlock (how a Galera
/// node also reports a transaction that lost certification), a connection the server killed (how a node's death
/// looks to the client), and an SQL error, which is the caller's at once.
/// </summary>
public sealed class FailoverTests : IAsyncLifetime
{
    private string database = "";

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync("awfailover");
        await using var connection = new MySqlConnection(database);
        await connection.ExecuteAsync("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT NOT NULL); INSERT INTO t VALUES (1, 0), (2, 0);");
    }

    public Task DisposeAsync() => TestDatabase.DropAsync(database);

    [Fact]
    public async Task A_deadlock_is_a_conflict_and_the_unit_of_work_that_lost_it_succeeds_when_repeated()
    {
        await using var first = new MySqlConnection(database);
        await first.OpenAsync();
        await using var firstTransaction = await first.BeginTransactionAsync();
        await first.ExecuteAsync("UPDATE t SET v = v + 1 WHERE id = 1", transaction: firstTransaction);

        var attempts = 0;
        var secondThread = 0;
        var second = Failover.RetryAsync(async ct =>
        {
            attempts++;
            await using var connection = new MySqlConnection(database);
            await connection.OpenAsync(ct);
            Volatile.Write(ref secondThread, connection.ServerThread);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync("UPDATE t SET v = v + 10 WHERE id = 2", transaction: transaction);
            await connection.ExecuteAsync("UPDATE t SET v = v + 10 WHERE id = 1", transaction: transaction);
            await transaction.CommitAsync(ct);
        }, TimeSpan.FromSeconds(30), CancellationToken.None);

        // The second holds row 2 and waits for row 1; the first then asks for row 2: one of them is the victim.
        await using (var look = new MySqlConnection(database))
        {
            var deadline = Deadline.In(30);
            while (await look.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = @thread",
                new { thread = Volatile.Read(ref secondThread) }) == 0)
            {
                if (deadline.Passed) Assert.Fail("the second transaction never waited for the first: " + await WhatTheSessionsDoAsync(look, second, attempts));
                // The server refreshes INNODB_TRX only when no one has read it for 100 ms: polled every 20 ms, a look
                // that came before the wait began saw the table as it was then for as long as the polling went on.
                await Task.Delay(250);
            }
        }

        MySqlException? lost = null;
        try
        {
            await first.ExecuteAsync("UPDATE t SET v = v + 1 WHERE id = 2", transaction: firstTransaction);
            await firstTransaction.CommitAsync();
        }
        catch (MySqlException e)
        {
            lost = e;
        }

        await second;
        await using var check = new MySqlConnection(database);
        var values = (await check.QueryAsync<int>("SELECT v FROM t ORDER BY id")).ToList();
        if (lost is not null)
        {
            // The test's own transaction was the victim: the conflict is named as one, the other's work is in.
            Assert.True(Failover.IsConflict(lost), lost.Message);
            Assert.Equal([10, 10], values);
        }
        else
        {
            // The unit of work was the victim and was repeated, whole, after the first committed.
            Assert.True(attempts >= 2, $"{attempts} attempts");
            Assert.Equal([11, 11], values);
        }
    }

    /// <summary>What the test's sessions were doing, for a failure's message.</summary>
    private static async Task<string> WhatTheSessionsDoAsync(MySqlConnection look, Task second, int attempts)
    {
        var sessions = await look.QueryAsync<(long Id, string Command, string? State, long Time, string? Info)>(
            "SELECT ID, COMMAND, STATE, TIME, INFO FROM information_schema.PROCESSLIST WHERE DB = DATABASE()");
        var transactions = await look.QueryAsync<(long Thread, string State, string? Query)>(
            "SELECT trx_mysql_thread_id, trx_state, trx_query FROM information_schema.INNODB_TRX");
        return $"second {second.Status} {second.Exception?.GetBaseException().Message} after {attempts} attempt(s); sessions: "
            + string.Join("; ", sessions.Select(x => $"{x.Id} {x.Command} '{x.State}' {x.Time}s {x.Info}"))
            + "; transactions: " + string.Join("; ", transactions.Select(x => $"{x.Thread} {x.State} {x.Query}"));
    }

    [Fact]
    public async Task A_killed_connection_is_unavailability_and_an_sql_error_is_neither()
    {
        await using var victim = new MySqlConnection(database);
        await victim.OpenAsync();
        await using (var killer = new MySqlConnection(database))
        {
            await killer.ExecuteAsync($"KILL CONNECTION {victim.ServerThread}");
        }

        var killed = await Assert.ThrowsAnyAsync<Exception>(() => victim.ExecuteScalarAsync<int>("SELECT 1"));
        Assert.True(Failover.IsUnavailable(killed), killed.ToString());
        Assert.True(Failover.IsTransient(killed));

        await using var healthy = new MySqlConnection(database);
        var error = await Assert.ThrowsAsync<MySqlException>(() => healthy.ExecuteAsync("SELECT * FROM no_such_table"));
        Assert.False(Failover.IsTransient(error));

        // Such an error is not repeated: the first attempt's exception is the caller's.
        var attempts = 0;
        await Assert.ThrowsAsync<MySqlException>(() => Failover.RetryAsync(async ct =>
        {
            attempts++;
            await using var connection = new MySqlConnection(database);
            await connection.ExecuteAsync("SELECT * FROM no_such_table");
        }, TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task A_database_that_stays_away_fails_the_unit_of_work_once_the_patience_is_spent()
    {
        var nowhere = new MySqlConnectionStringBuilder(database) { Server = "127.0.0.1", Port = 1, ConnectionTimeout = 1 }.ConnectionString;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var attempts = 0;
        var error = await Assert.ThrowsAsync<MySqlException>(() => Failover.RetryAsync(async ct =>
        {
            attempts++;
            await using var connection = new MySqlConnection(nowhere);
            await connection.OpenAsync(ct);
        }, TimeSpan.FromSeconds(1.5), CancellationToken.None));
        Assert.True(Failover.IsUnavailable(error));
        Assert.True(attempts >= 3, $"{attempts} attempts");
        Assert.InRange(watch.Elapsed.TotalSeconds, 1.5, 10);
    }
}
