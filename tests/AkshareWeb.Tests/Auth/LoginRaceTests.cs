using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using MySqlConnector;

namespace AkshareWeb.Tests.Auth;

/// <summary>The documented limit: five failures per account and address.</summary>
public sealed class LoginRaceApp : AkshareWebApp
{
    public LoginRaceApp()
    {
        Set("RateLimits:LoginFailuresPerAccountAndAddress", "5");
        Set("RateLimits:LoginFailureWindowSeconds", "900");
    }
}

/// <summary>An attempt is counted before its password is checked, under a lock every instance shares.</summary>
public sealed class LoginRaceTests(LoginRaceApp app) : IClassFixture<LoginRaceApp>
{
    [Fact]
    public async Task Fifteen_wrong_logins_at_once_get_five_401_and_ten_429()
    {
        var (_, victim, _) = await app.NewUserAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 15).Select(i => app.LoginFromAsync("198.51.100.40", victim, "guess-" + i)));

        Assert.True(answers.Count(a => a.Status == 401) == 5, string.Join("\n", answers.Select(a => a.Status + " " + a.Body?.ToJsonString())) + string.Join("\n", app.Logs.Lines));
        Assert.Equal(10, answers.Count(a => a.Status == 429));
        Assert.Equal(429, (await app.LoginFromAsync("198.51.100.40", victim, "password-123")).Status);
    }

    [Fact]
    public async Task Two_instances_on_one_database_count_together()
    {
        var (_, victim, _) = await app.NewUserAsync();
        await using var second = await app.SecondInstanceAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            (i % 2 == 0 ? app : second).LoginFromAsync("198.51.100.41", victim, "guess-" + i)));

        Assert.Equal(5, answers.Count(a => a.Status == 401));
        Assert.Equal(11, answers.Count(a => a.Status == 429));
        Assert.Equal(429, (await second.LoginFromAsync("198.51.100.41", victim, "password-123")).Status);
        Assert.Equal(200, (await second.LoginFromAsync("198.51.100.42", victim, "password-123")).Status);
    }
}

public sealed class LockedWindowApp : AkshareWebApp
{
    public LockedWindowApp()
    {
        Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        Set("RateLimits:LoginFailuresPerAccountAndAddress", "5");
        Set("RateLimits:LoginFailureWindowSeconds", "900");
    }
}

public sealed class LockedWindowTests(LockedWindowApp app) : IClassFixture<LockedWindowApp>
{
    [Fact]
    public async Task After_a_burst_locks_the_pair_the_right_password_is_refused_until_the_window_has_passed()
    {
        var (_, user, _) = await app.NewUserAsync();
        var burst = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => app.LoginFromAsync("198.51.100.43", user, "guess-" + i)));
        Assert.Equal(5, burst.Count(a => a.Status == 401));

        var locked = await app.LoginFromAsync("198.51.100.43", user, "password-123");
        Assert.Equal(429, locked.Status);
        Assert.Equal("900", locked.Headers.RetryAfter.ToString());

        app.Clock!.Advance(TimeSpan.FromSeconds(899));
        var still = await app.LoginFromAsync("198.51.100.43", user, "password-123");
        Assert.Equal(429, still.Status);
        Assert.Equal("1", still.Headers.RetryAfter.ToString());

        app.Clock!.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(200, (await app.LoginFromAsync("198.51.100.43", user, "password-123")).Status);
    }
}

/// <summary>Every login to an account that has failed once waits 3 s first.</summary>
public sealed class SlowBrakeApp : AkshareWebApp
{
    public SlowBrakeApp()
    {
        Set("RateLimits:LoginAccountBrakeAfter", "1");
        Set("RateLimits:LoginAccountBrakeBaseMilliseconds", "3000");
        Set("RateLimits:LoginAccountBrakeMaxMilliseconds", "3000");
    }
}

public sealed class BrakeConnectionTests(SlowBrakeApp app) : IClassFixture<SlowBrakeApp>
{
    /// <summary>
    /// While the braked login waits, every connection the service has to its database is killed and its pool
    /// emptied. A login that held a connection through its wait would find it dead afterwards (a 503); one that
    /// gave it back opens a fresh one and gets in.
    /// </summary>
    [Fact]
    public async Task A_braked_login_holds_no_database_connection_while_it_waits()
    {
        var (_, user, _) = await app.NewUserAsync();
        Assert.Equal(401, (await app.LoginFromAsync("198.51.100.44", user, "guess")).Status);
        await using var db = await app.OpenDatabaseAsync();
        var before = await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM login_failures");

        var login = app.LoginFromAsync("198.51.100.45", user, "password-123");
        // The attempt is counted (a row, committed) before its wait begins.
        var deadline = Deadline.In(20);
        while (await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM login_failures") == before)
        {
            Assert.True(!deadline.Passed && !login.IsCompleted, "the login was not counted");
            await Task.Delay(20);
        }

        // A session of this database that is surely there: the list below must catch it, whatever the service's pool
        // holds at this moment (another fixture's end may just have emptied every pool in the process).
        await using var witness = await app.OpenDatabaseAsync();
        var witnessId = await witness.ExecuteScalarAsync<long>("SELECT CONNECTION_ID()");
        var mine = await db.ExecuteScalarAsync<long>("SELECT CONNECTION_ID()");
        var theirs = (await db.QueryAsync<long>(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> @mine", new { mine })).ToList();
        foreach (var id in theirs)
        {
            try
            {
                await db.ExecuteAsync($"KILL {id}");
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.NoSuchThread)
            {
                // It ended on its own meanwhile.
            }
        }

        await MySqlConnection.ClearPoolAsync(new MySqlConnection(AkshareWeb.Features.Common.Database.Normalise(app.ConnectionString)));
        Assert.False(login.IsCompleted, "the login ended before its connections were killed: the brake did not hold it");

        var answer = await login;
        Assert.True(answer.Status == 200, answer.Body?.ToJsonString());
        Assert.Contains(witnessId, theirs);
    }
}
