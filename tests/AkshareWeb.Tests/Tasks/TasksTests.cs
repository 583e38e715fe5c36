using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Hangfire;
using Hangfire.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Tasks;

public sealed class TasksTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private List<RecurringJobDto> RecurringJobs()
    {
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs();
    }

    // Every test's tasks write into the one stock_zh_a_hist table of this class's service. A task left active fires
    // into another test's run: the every-minute one wrote 3 rows of 000007 while the interval test's run was between
    // its rows_before and rows_after (6 = 3 + 3 seen in a suite run whose clock crossed a minute there).
    private static async Task StopFiringAsync(HttpClient client, long id) =>
        await (await client.PostAsync($"/api/tasks/{id}/pause", null)).ExpectAsync(200, 0);

    [Fact]
    public async Task A_cron_task_is_created_scheduled_in_hangfire_and_reports_its_next_run_in_beijing_time()
    {
        var (client, _, _) = await app.NewUserAsync();
        var task = await client.CreateAsync(TaskTestKit.Daily("000001", "cron", "0 15 * * 1-5"));
        var id = task["id"]!.GetValue<long>();
        Assert.Equal("cron", task["schedule_type"]!.GetValue<string>());
        Assert.True(task["is_active"]!.GetValue<bool>());
        Assert.Equal("Asia/Shanghai", task["time_zone"]!.GetValue<string>());
        Assert.Equal("000001", task["parameters"]!["symbol"]!.GetValue<string>());

        var job = Assert.Single(RecurringJobs(), j => j.Id == $"task-{id}");
        Assert.Equal("0 15 * * 1-5", job.Cron);
        var next = task["next_execution_at"]!.GetValue<DateTime>().ToUniversalTime();
        Assert.Equal(7, next.Hour); // 15:00 in Beijing is 07:00 UTC
        Assert.True(next.DayOfWeek is >= DayOfWeek.Monday and <= DayOfWeek.Friday);

        var fetched = (await (await client.GetAsync($"/api/tasks/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("日线 000001", fetched["name"]!.GetValue<string>());
        Assert.Equal(next, fetched["next_execution_at"]!.GetValue<DateTime>().ToUniversalTime());
        await StopFiringAsync(client, id);
    }

    [Theory]
    [InlineData("cron", "0 15 * *", "schedule_expression", "5 fields")]
    [InlineData("cron", "61 15 * * *", "schedule_expression", "invalid cron")]
    [InlineData("interval", "1", "schedule_expression", "at least")]
    [InlineData("interval", "ten", "schedule_expression", "whole number")]
    [InlineData("once", "2001-01-01T00:00:00+08:00", "schedule_expression", "future")]
    [InlineData("once", "tomorrow", "schedule_expression", "ISO 8601")]
    [InlineData("weekly", "1", "schedule_type", "cron, interval or once")]
    public async Task Bad_schedules_are_422_saying_what_is_wrong(string type, string expression, string field, string words)
    {
        var (client, _, _) = await app.NewUserAsync();
        var response = await client.PostAsJsonAsync("/api/tasks/", new { name = "x", script_id = "stock_zh_a_hist", schedule_type = type, schedule_expression = expression, parameters = new { symbol = "000001" } });
        var body = await response.ExpectAsync(422, 3001);
        var error = body["detail"]!.AsArray().First(d => d!["field"]!.GetValue<string>() == field)!;
        Assert.Contains(words, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"symbol\": \"000001\", \"colour\": \"red\"}", "parameters.colour")]
    [InlineData("{}", "parameters.symbol")]
    [InlineData("{\"symbol\": \"000001\", \"adjust\": \"xx\"}", "parameters.adjust")]
    public async Task Parameters_are_checked_against_the_script(string parameters, string field)
    {
        var (client, _, _) = await app.NewUserAsync();
        var json = $"{{\"name\": \"x\", \"script_id\": \"stock_zh_a_hist\", \"schedule_type\": \"cron\", \"schedule_expression\": \"0 16 * * *\", \"parameters\": {parameters}}}";
        var body = await (await client.PostAsync("/api/tasks/", new StringContent(json, System.Text.Encoding.UTF8, "application/json"))).ExpectAsync(422, 3001);
        Assert.Contains(body["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);

        var unknown = await client.PostAsJsonAsync("/api/tasks/", new { name = "x", script_id = "nope", schedule_type = "cron", schedule_expression = "0 16 * * *" });
        Assert.Equal("script_id", (await unknown.ExpectAsync(422, 3001))["detail"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tasks_belong_to_their_creator_and_admins_see_all()
    {
        var (owner, _, _) = await app.NewUserAsync();
        var (stranger, _, _) = await app.NewUserAsync();
        var admin = await app.AdminAsync();
        var task = await owner.CreateAsync(TaskTestKit.Daily("000002", "cron", "0 9 * * *"));
        var id = task["id"]!.GetValue<long>();

        await (await stranger.GetAsync($"/api/tasks/{id}")).ExpectAsync(404, 2001);
        await (await stranger.PostAsync($"/api/tasks/{id}/pause", null)).ExpectAsync(404, 2001);
        await (await stranger.DeleteAsync($"/api/tasks/{id}")).ExpectAsync(404, 2001);
        var strangers = (await (await stranger.GetAsync("/api/tasks/")).ExpectAsync(200, 0))["data"]!;
        Assert.DoesNotContain(strangers["items"]!.AsArray(), t => t!["id"]!.GetValue<long>() == id);
        var all = (await (await admin.GetAsync("/api/tasks/?page_size=100")).ExpectAsync(200, 0))["data"]!;
        Assert.Contains(all["items"]!.AsArray(), t => t!["id"]!.GetValue<long>() == id);
        await (await admin.GetAsync($"/api/tasks/{id}")).ExpectAsync(200, 0);
        await StopFiringAsync(owner, id);
    }

    [Fact]
    public async Task Update_changes_the_schedule_in_hangfire_and_checks_it()
    {
        var (client, _, _) = await app.NewUserAsync();
        var id = (await client.CreateAsync(TaskTestKit.Daily("000003", "cron", "0 9 * * *")))["id"]!.GetValue<long>();
        var updated = (await (await client.PutAsJsonAsync($"/api/tasks/{id}", new { schedule_expression = "30 10 * * 1-5", name = "改名", max_retries = 2 })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("改名", updated["name"]!.GetValue<string>());
        Assert.Equal(2, updated["max_retries"]!.GetValue<int>());
        Assert.Equal("30 10 * * 1-5", Assert.Single(RecurringJobs(), j => j.Id == $"task-{id}").Cron);

        await (await client.PutAsJsonAsync($"/api/tasks/{id}", new { schedule_expression = "99 * * * *" })).ExpectAsync(422, 3001);
        await (await client.PutAsJsonAsync($"/api/tasks/{id}", new { parameters = new { symbol = 5 } })).ExpectAsync(422, 3001);
        await (await client.PutAsJsonAsync("/api/tasks/999999", new { name = "x" })).ExpectAsync(404, 2001);

        // Another kind of schedule replaces the job.
        var once = DateTimeOffset.UtcNow.AddDays(2).ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
        var switched = (await (await client.PutAsJsonAsync($"/api/tasks/{id}", new { schedule_type = "once", schedule_expression = once })).ExpectAsync(200, 0))["data"]!;
        Assert.DoesNotContain(RecurringJobs(), j => j.Id == $"task-{id}");
        Assert.Equal(DateTimeOffset.Parse(once, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime, switched["next_execution_at"]!.GetValue<DateTime>().ToUniversalTime());
    }

    [Fact]
    public async Task An_interval_task_fires_and_records_a_true_execution_then_pause_and_resume_work()
    {
        app.ServeBars();
        var (client, _, _) = await app.NewUserAsync();
        var id = (await client.CreateAsync(TaskTestKit.Daily("600000", "interval", "2")))["id"]!.GetValue<long>();

        var runs = await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(id), r => r.Any(e => e.Status == "completed"));
        var done = runs.First(e => e.Status == "completed");
        Assert.Equal("scheduler", done.TriggeredBy);
        var execution = (await (await client.GetAsync($"/api/executions/{done.ExecutionId}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(id, execution["task_id"]!.GetValue<long>());
        Assert.Equal(execution["rows_before"]!.GetValue<long>() + execution["rows_inserted"]!.GetValue<long>(), execution["rows_after"]!.GetValue<long>());
        var task = (await (await client.GetAsync($"/api/tasks/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.NotNull(task["last_execution_at"]);
        Assert.NotNull(task["next_execution_at"]);

        await (await client.PostAsync($"/api/tasks/{id}/pause", null)).ExpectAsync(200, 0);
        await Task.Delay(1500); // let a fire already under way finish
        var paused = (await app.ExecutionsOfAsync(id)).Count;
        await Task.Delay(4500);
        Assert.Equal(paused, (await app.ExecutionsOfAsync(id)).Count);
        var pausedView = (await (await client.GetAsync($"/api/tasks/{id}")).ExpectAsync(200, 0))["data"]!;
        Assert.False(pausedView["is_active"]!.GetValue<bool>());
        Assert.Null(pausedView["next_execution_at"]);

        await (await client.PostAsync($"/api/tasks/{id}/resume", null)).ExpectAsync(200, 0);
        var resumed = await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(id), r => r.Count > paused);
        Assert.True(resumed.Count > paused);

        var listed = (await (await client.GetAsync($"/api/tasks/{id}/executions?status=completed")).ExpectAsync(200, 0))["data"]!;
        Assert.True(listed["total"]!.GetValue<long>() >= 1);
        Assert.All(listed["items"]!.AsArray(), e => Assert.Equal("completed", e!["status"]!.GetValue<string>()));
        await (await client.GetAsync($"/api/tasks/{id}/executions?status=weird")).ExpectAsync(422, 3001);
        await (await client.PostAsync($"/api/tasks/{id}/pause", null)).ExpectAsync(200, 0);
    }

    [Fact]
    public async Task A_due_time_that_finds_the_tasks_last_run_still_going_is_skipped_and_runs_never_overlap()
    {
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.AkTools.Handle("stock_zh_a_hist", async context =>
        {
            await answer.Task.WaitAsync(context.RequestAborted);
            var symbol = context.Request.Query["symbol"].ToString();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(
                Enumerable.Range(0, 3).Select(i => TestScripts.Bar(symbol, new DateOnly(2024, 6, 3).AddDays(i), 8.5 + i))), context.RequestAborted);
        });
        var (client, _, _) = await app.NewUserAsync();
        var id = (await client.CreateAsync(TaskTestKit.Daily("600001", "interval", "2")))["id"]!.GetValue<long>();
        try
        {
            // The first fire's run holds its AKTools call; three more due times come and go meanwhile.
            var first = await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(id), r => r.Any(e => e.Status == "running"));
            var held = Assert.Single(first);
            await using (var db = await app.OpenDatabaseAsync())
            {
                var key = await db.ExecuteScalarAsync<string>("SELECT schedule_key FROM executions WHERE execution_id = @id", new { id = held.ExecutionId });
                var due = DateTime.ParseExact(key!.Split('@')[1],
                    "yyyy-MM-ddTHH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture);
                await TaskTestKit.EventuallyAsync(() => db.ExecuteScalarAsync<DateTime>("SELECT next_due_at FROM scheduled_tasks WHERE id = @id", new { id }),
                    next => next >= due.AddSeconds(8));
            }

            Assert.Equal([held.ExecutionId], (await app.ExecutionsOfAsync(id)).Select(e => e.ExecutionId));

            answer.SetResult();
            await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(id), r => r.Count(e => e.Status == "completed") >= 2);
        }
        finally
        {
            answer.TrySetResult();
            await StopFiringAsync(client, id);
        }

        // Every run ended before the next began: none was made while another waited or ran.
        var runs = await TaskTestKit.EventuallyAsync(() => app.ExecutionsOfAsync(id), r => r.All(e => e.Status is "completed" or "failed"));
        await using var database = await app.OpenDatabaseAsync();
        var times = (await database.QueryAsync<(DateTime Created, DateTime? Ended)>(
            "SELECT created_at, end_time FROM executions WHERE task_id = @id ORDER BY id", new { id })).ToList();
        Assert.All(runs, r => Assert.Equal("completed", r.Status));
        for (var i = 1; i < times.Count; i++) Assert.True(times[i].Created >= times[i - 1].Ended, $"run {i} was made before run {i - 1} ended");
    }

    [Fact]
    public async Task Execute_runs_a_task_now_and_answers_pending_at_once()
    {
        app.ServeBars();
        var (client, _, _) = await app.NewUserAsync();
        var id = (await client.CreateAsync(TaskTestKit.Daily("000004", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
        var started = (await (await client.PostAsync($"/api/tasks/{id}/execute", null)).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("pending", started["status"]!.GetValue<string>());
        var run = await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal("manual", run["triggered_by"]!.GetValue<string>());
        Assert.Equal(3, run["rows_affected"]!.GetValue<long>());
        await (await client.PostAsync("/api/tasks/999999/execute", null)).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task Delete_removes_the_schedule_and_keeps_the_history()
    {
        app.ServeBars();
        var (client, _, _) = await app.NewUserAsync();
        var id = (await client.CreateAsync(TaskTestKit.Daily("000005", "cron", "0 4 * * *")))["id"]!.GetValue<long>();
        var started = (await (await client.PostAsync($"/api/tasks/{id}/execute", null)).ExpectAsync(200, 0))["data"]!;
        await app.WaitForEndAsync(client, started["execution_id"]!.GetValue<string>());

        await (await client.DeleteAsync($"/api/tasks/{id}")).ExpectAsync(200, 0);
        await (await client.GetAsync($"/api/tasks/{id}")).ExpectAsync(404, 2001);
        Assert.DoesNotContain(RecurringJobs(), j => j.Id == $"task-{id}");
        var kept = (await (await client.GetAsync($"/api/executions/?task_id={id}")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(1, kept["total"]!.GetValue<long>());
    }
    [Fact]
    public async Task A_description_longer_than_its_column_is_a_422_naming_it()
    {
        var (client, _, _) = await app.NewUserAsync();
        var body = new { name = "long", description = new string('说', 21_846), script_id = "stock_zh_a_hist", schedule_type = "cron",
            schedule_expression = "0 9 * * *", parameters = new { symbol = "000001" } };
        var error = await (await client.PostAsJsonAsync("/api/tasks/", body)).ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == "description");

        // The longest allowed, in characters that take 3 bytes each, is stored whole.
        var longest = new string('说', 21_845);
        var created = await client.CreateAsync(new { name = "longest", description = longest, script_id = "stock_zh_a_hist", schedule_type = "cron",
            schedule_expression = "0 9 * * *", parameters = new { symbol = "000001" }, is_active = false });
        await using var db = await app.OpenDatabaseAsync();
        Assert.Equal(longest, await db.ExecuteScalarAsync<string>("SELECT description FROM scheduled_tasks WHERE id = @id", new { id = created["id"]!.GetValue<long>() }));

        var update = await client.PutAsJsonAsync($"/api/tasks/{created["id"]!.GetValue<long>()}", new { description = longest + "x" });
        error = await update.ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == "description");
    }

    [Fact]
    public async Task A_valid_cron_with_every_minute_listed_is_stored_and_scheduled()
    {
        var (client, _, _) = await app.NewUserAsync();
        var minutes = string.Join(',', Enumerable.Range(0, 60));
        var expression = $"{minutes} {string.Join(',', Enumerable.Range(0, 24))} * * *";
        Assert.True(expression.Length > 170, $"{expression.Length} characters");
        var created = await client.CreateAsync(TaskTestKit.Daily("000007", "cron", expression));
        Assert.Equal(expression, created["schedule_expression"]!.GetValue<string>());
        Assert.Contains(RecurringJobs(), j => j.Id == $"task-{created["id"]!.GetValue<long>()}");
        await StopFiringAsync(client, created["id"]!.GetValue<long>());

        var tooLong = await client.PostAsJsonAsync("/api/tasks/", TaskTestKit.Daily("000007", "cron", string.Join(',', Enumerable.Repeat("0", 600)) + " * * * *"));
        var error = await tooLong.ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == "schedule_expression");
    }

    [Theory]
    [InlineData("{\"symbol\": \"a\\ud800\"}", "parameters.symbol")]
    [InlineData("{\"\\udc00x\": \"000001\"}", "parameters")]
    public async Task Half_a_surrogate_pair_in_the_parameters_is_a_422_naming_the_field(string parameters, string field)
    {
        var (client, _, _) = await app.NewUserAsync();
        var body = $$"""{"name":"s","script_id":"stock_zh_a_hist","schedule_type":"cron","schedule_expression":"0 9 * * *","parameters":{{parameters}}}""";
        var error = await (await client.PostAsync("/api/tasks/", new StringContent(body, System.Text.Encoding.UTF8, "application/json"))).ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);
    }
}
