using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Tasks;

/// <summary>Two instances of the service on one database, and a restart.</summary>
public sealed class MultiHostTests
{
    [Fact]
    public async Task Two_hosts_on_one_database_fire_each_due_time_exactly_once()
    {
        await using var first = new CollectingApp();
        await first.InitializeAsync();
        first.ServeBars();
        await using var second = await SecondOnSameDatabaseAsync(first);
        _ = second.Server;

        var (client, _, _) = await first.NewUserAsync();
        var taskId = (await client.CreateAsync(TaskTestKit.Daily("300750", "interval", "2")))["id"]!.GetValue<long>();
        var started = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(11));
        await (await client.PostAsync($"/api/tasks/{taskId}/pause", null)).ExpectAsync(200, 0);
        var elapsed = DateTime.UtcNow - started;

        await using var db = await first.OpenDatabaseAsync();
        var fires = (await db.QueryAsync<(string Key, DateTime Created, DateTime? Ended)>(
            "SELECT schedule_key, created_at, end_time FROM executions WHERE task_id = @taskId AND triggered_by = 'scheduler' ORDER BY id", new { taskId })).ToList();
        var dueTimes = (int)Math.Floor(elapsed.TotalSeconds / 2);
        Assert.InRange(fires.Count, 2, dueTimes + 1);
        Assert.Equal(fires.Count, fires.Select(f => f.Key).Distinct().Count());
        // No due time fired twice: each fire's due time (its schedule key) lies on the task's 2-second grid, after the
        // one before. When fires were made is no measure of it: under load a tick late for one due time and the tick on
        // time for the next make two fires a fraction of a second apart, both right.
        var dueTimesFired = fires.Select(f => DateTime.ParseExact(f.Key[(f.Key.IndexOf('@') + 1)..], "yyyy-MM-ddTHH:mm:ss.ffffff",
            System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var skipped = 0;
        for (var i = 1; i < dueTimesFired.Count; i++)
        {
            var step = dueTimesFired[i] - dueTimesFired[i - 1];
            Assert.True(step >= TimeSpan.FromSeconds(2) && step.Ticks % TimeSpan.FromSeconds(2).Ticks == 0,
                $"fires {i - 1} and {i} were for due times {dueTimesFired[i - 1]:O} and {dueTimesFired[i]:O}");
            // A due time between two fires was skipped only because the run before it had not ended yet (a slow run
            // under load): the last skipped one came while that run was still open.
            if (step > TimeSpan.FromSeconds(2))
            {
                skipped += (int)(step / TimeSpan.FromSeconds(2)) - 1;
                var lastSkipped = dueTimesFired[i] - TimeSpan.FromSeconds(2);
                Assert.True(fires[i - 1].Ended is not { } ended || ended > lastSkipped,
                    $"due time {lastSkipped:O} was skipped, but fire {i - 1}'s run had ended at {fires[i - 1].Ended:O}");
            }
        }

        Assert.True(fires.Count + skipped >= dueTimes - 2, $"{fires.Count} fires and {skipped} skipped due times in {elapsed.TotalSeconds:F1} s");

        await ((IAsyncLifetime)second).DisposeAsync();
        await ((IAsyncLifetime)first).DisposeAsync();
    }

    [Fact]
    public async Task Schedules_survive_a_restart_and_keep_firing()
    {
        var first = new CollectingApp();
        await first.InitializeAsync();
        first.ServeBars();
        var (client, username, _) = await first.NewUserAsync();
        var cronId = (await client.CreateAsync(TaskTestKit.Daily("000858", "cron", "0 15 * * 1-5")))["id"]!.GetValue<long>();
        var intervalId = (await client.CreateAsync(TaskTestKit.Daily("000858", "interval", "2")))["id"]!.GetValue<long>();
        await (await client.PostAsync($"/api/tasks/{intervalId}/pause", null)).ExpectAsync(200, 0);

        // The first instance goes away; a new one starts on the same database.
        await using var restarted = await SecondOnSameDatabaseAsync(first);
        await first.DisposeAsync();
        restarted.ServeBars();
        var again = await restarted.SignedInAsync(username, "password-123");

        using (var connection = restarted.Services.GetRequiredService<JobStorage>().GetConnection())
        {
            var jobs = connection.GetRecurringJobs();
            Assert.Contains(jobs, j => j.Id == $"task-{cronId}" && j.Cron == "0 15 * * 1-5");
        }

        var cron = (await (await again.GetAsync($"/api/tasks/{cronId}")).ExpectAsync(200, 0))["data"]!;
        Assert.NotNull(cron["next_execution_at"]);
        await (await again.PostAsync($"/api/tasks/{intervalId}/resume", null)).ExpectAsync(200, 0);
        var runs = await TaskTestKit.EventuallyAsync(() => restarted.ExecutionsOfAsync(intervalId), r => r.Any(e => e.Status == "completed"));
        Assert.Contains(runs, r => r.Status == "completed" && r.TriggeredBy == "scheduler");

        await ((IAsyncLifetime)restarted).DisposeAsync();
        await TestDatabase.DropAsync(first.ConnectionString);
    }

    private static async Task<SharedApp> SecondOnSameDatabaseAsync(CollectingApp first)
    {
        var other = new SharedApp(first.ConnectionString, first.ScriptsFolder, first.RegistryFile);
        await other.InitializeAsync();
        return other;
    }

    /// <summary>A second instance: same database, same scripts, its own fake AKTools; the first owns the database.</summary>
    private sealed class SharedApp : CollectingApp
    {
        public SharedApp(string connectionString, string scripts, string registry)
        {
            UseDatabase(connectionString);
            Set("DataScripts:Path", scripts);
            Set("Catalog:RegistryPath", registry);
        }
    }
}
