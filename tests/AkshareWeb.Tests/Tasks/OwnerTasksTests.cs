using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Tasks;

public sealed class OwnerTasksTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private bool HasRecurringJob(long taskId)
    {
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs().Any(j => j.Id == $"task-{taskId}");
    }

    private async Task<long> UserIdAsync(string username)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM users WHERE username = @username", new { username });
    }

    [Fact]
    public async Task Deactivating_a_user_pauses_their_tasks_with_a_reason_the_admin_sees_and_they_stay_paused()
    {
        var (client, username, _) = await app.NewUserAsync();
        var cron = (await client.CreateAsync(TaskTestKit.Daily("000001", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var interval = (await client.CreateAsync(TaskTestKit.Daily("000002", "interval", "3600")))["id"]!.GetValue<long>();
        Assert.True(HasRecurringJob(cron));
        var admin = await app.AdminAsync();
        var (bystander, _, _) = await app.NewUserAsync();
        var untouched = (await bystander.CreateAsync(TaskTestKit.Daily("000003", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();

        var userId = await UserIdAsync(username);
        await (await admin.PutAsJsonAsync($"/api/users/{userId}", new { is_active = false })).ExpectAsync(200, 0);

        foreach (var id in new[] { cron, interval })
        {
            var task = (await (await admin.GetAsync($"/api/tasks/{id}")).ExpectAsync(200, 0))["data"]!;
            Assert.False(task["is_active"]!.GetValue<bool>());
            Assert.Equal("owner deactivated", task["paused_reason"]!.GetValue<string>());
            Assert.Null(task["next_execution_at"]);
            Assert.False(HasRecurringJob(id));
        }

        var listed = (await (await admin.GetAsync("/api/tasks/?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray();
        Assert.Equal("owner deactivated", listed.Single(t => t!["id"]!.GetValue<long>() == cron)!["paused_reason"]!.GetValue<string>());
        Assert.True(HasRecurringJob(untouched));

        // Nobody can resume it for an inactive owner; reactivated, the owner resumes it, and the reason goes.
        await (await admin.PostAsync($"/api/tasks/{cron}/resume", null)).ExpectAsync(409, -1);
        await (await admin.PutAsJsonAsync($"/api/users/{userId}", new { is_active = true })).ExpectAsync(200, 0);
        Assert.False((await (await admin.GetAsync($"/api/tasks/{cron}")).ExpectAsync(200, 0))["data"]!["is_active"]!.GetValue<bool>());
        var owner = await app.SignedInAsync(username, "password-123");
        await (await owner.PostAsync($"/api/tasks/{cron}/resume", null)).ExpectAsync(200, 0);
        var resumed = (await (await owner.GetAsync($"/api/tasks/{cron}")).ExpectAsync(200, 0))["data"]!;
        Assert.True(resumed["is_active"]!.GetValue<bool>());
        Assert.Null(resumed["paused_reason"]);
        Assert.True(HasRecurringJob(cron));
    }

    [Fact]
    public async Task Deleting_a_user_pauses_their_tasks_and_a_fire_already_queued_does_not_run()
    {
        app.ServeBars();
        var (client, username, _) = await app.NewUserAsync();
        var id = (await client.CreateAsync(TaskTestKit.Daily("000004", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var admin = await app.AdminAsync();
        await (await admin.DeleteAsync($"/api/users/{await UserIdAsync(username)}")).ExpectAsync(200, 0);

        var task = (await (await admin.GetAsync($"/api/tasks/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.False(task["is_active"]!.GetValue<bool>());
        Assert.Equal("owner deleted", task["paused_reason"]!.GetValue<string>());
        Assert.False(HasRecurringJob(id));

        // A fire that was already on its way (or a task switched back on behind the service's back) does nothing.
        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("UPDATE scheduled_tasks SET is_active = 1 WHERE id = @id", new { id });
        }

        var trigger = app.Services.GetRequiredService<AkshareWeb.Features.Tasks.DueTaskJob>();
        await trigger.FireAsync(id, CancellationToken.None);
        Assert.Empty(await app.ExecutionsOfAsync(id));
    }
}
