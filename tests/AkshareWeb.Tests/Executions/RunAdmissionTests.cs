using System.Net.Http.Json;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Settings;
using AkshareWeb.Features.Warehouse;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;

namespace AkshareWeb.Tests.Executions;

/// <summary>Its own app: the tests change max_concurrent_tasks and leave runs claimed that no job runs.</summary>
public sealed class RunAdmissionApp : CollectingApp
{
}

/// <summary>
/// The one answer to "may this run start now", asked of RunAdmission itself against the real database: runs are made
/// pending without a job, so nothing but the test asks for them.
/// </summary>
public sealed class RunAdmissionTests(RunAdmissionApp app) : IClassFixture<RunAdmissionApp>
{
    private RunAdmission RunAdmission => app.Services.GetRequiredService<RunAdmission>();

    private ExecutionSlots Slots => app.Services.GetRequiredService<ExecutionSlots>();

    private RunningExecutions Held => app.Services.GetRequiredService<RunningExecutions>();

    private ExecutionStore Store => app.Services.GetRequiredService<ExecutionStore>();

    private async Task<long> LimitAsync(int maxConcurrentTasks)
    {
        var admin = await app.AdminAsync();
        await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = maxConcurrentTasks })).ExpectAsync(200, 0);
        var (client, _, _) = await app.NewUserAsync();
        return (await client.CreateAsync(TaskTestKit.Daily("000001", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
    }

    /// <summary>A pending run no job knows of: of the task, or (null) a download.</summary>
    private async Task<string> PendingAsync(long? taskId) =>
        (await Store.CreateAsync(new ExecutionPlan("stock_zh_a_hist", new Dictionary<string, string> { ["symbol"] = "000001" }, "ak_stock_zh_a_hist",
            WriteModes.Upsert, ["日期"], new Dictionary<string, string>(), "manual", TaskId: taskId), CancellationToken.None))!;

    private async Task<string?> StatusAsync(string executionId)
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<string?>("SELECT status FROM executions WHERE execution_id = @executionId", new { executionId });
    }

    /// <summary>Lets the run go as its runner would once done with it: its place back, its row ended.</summary>
    private async Task EndAsync(Admission.Room room)
    {
        await room.DisposeAsync();
        await Store.FailAsync(room.Run.ExecutionId, "ended by the test");
    }

    [Fact]
    public async Task A_task_run_with_room_is_claimed_for_this_instance_and_holds_a_slot_until_it_ends()
    {
        var taskId = await LimitAsync(1);
        var id = await PendingAsync(taskId);

        var room = Assert.IsType<Admission.Room>(await RunAdmission.AdmitAsync(id, RunLane.Scheduled, CancellationToken.None));
        try
        {
            Assert.Equal(id, room.Run.ExecutionId);
            Assert.Equal(taskId, room.Run.Plan.TaskId);
            var defaults = await app.Services.GetRequiredService<SystemSettings>().GetExecutionSettingsAsync(CancellationToken.None);
            Assert.Equal(TimeSpan.FromSeconds(defaults.DefaultTimeout), room.Run.Timeout);
            await using var db = await app.OpenDatabaseAsync();
            var row = await db.QuerySingleAsync<(string Status, string Worker)>("SELECT status, worker FROM executions WHERE execution_id = @id", new { id });
            Assert.Equal(("running", Held.Worker), row);
            Assert.Equal(1, Slots.InUse);
            Assert.Contains(id, Held.Ids);
        }
        finally
        {
            await EndAsync(room);
        }

        Assert.Equal(0, Slots.InUse);
        Assert.DoesNotContain(id, Held.Ids);
    }

    [Fact]
    public async Task At_the_limit_a_task_run_waits_holding_nothing_a_download_does_not_and_a_raised_limit_lets_it_in()
    {
        var taskId = await LimitAsync(1);
        var first = Assert.IsType<Admission.Room>(await RunAdmission.AdmitAsync(await PendingAsync(taskId), RunLane.Scheduled, CancellationToken.None));
        Admission.Room? second = null, download = null;
        try
        {
            var waiting = await PendingAsync(taskId);
            var noRoom = Assert.IsType<Admission.NoRoom>(await RunAdmission.AdmitAsync(waiting, RunLane.Scheduled, CancellationToken.None));
            Assert.Equal("every slot is taken", noRoom.Reason);
            Assert.Equal("pending", await StatusAsync(waiting));
            Assert.Equal(1, Slots.InUse);
            Assert.DoesNotContain(waiting, Held.Ids);

            // A download takes no slot: the limit is not its own.
            download = Assert.IsType<Admission.Room>(await RunAdmission.AdmitAsync(await PendingAsync(null), RunLane.Adhoc, CancellationToken.None));
            Assert.Equal(1, Slots.InUse);

            await LimitAsync(2);
            second = Assert.IsType<Admission.Room>(await RunAdmission.AdmitAsync(waiting, RunLane.Scheduled, CancellationToken.None));
            Assert.Equal("running", await StatusAsync(waiting));
            Assert.Equal(2, Slots.InUse);
        }
        finally
        {
            await EndAsync(first);
            if (second is not null) await EndAsync(second);
            if (download is not null) await EndAsync(download);
        }
    }

    [Fact]
    public async Task A_run_cancelled_while_pending_is_gone_and_never_claimed()
    {
        var taskId = await LimitAsync(1);
        var id = await PendingAsync(taskId);
        Assert.Equal(CancelResult.CancelledPending, await Store.CancelAsync(id, CancellationToken.None));

        Assert.IsType<Admission.Gone>(await RunAdmission.AdmitAsync(id, RunLane.Scheduled, CancellationToken.None));
        Assert.IsType<Admission.Gone>(await RunAdmission.AdmitAsync(id, RunLane.Adhoc, CancellationToken.None));
        Assert.Equal("cancelled", await StatusAsync(id));
        Assert.Equal(0, Slots.InUse);
        Assert.DoesNotContain(id, Held.Ids);
    }

    [Fact]
    public async Task A_task_run_takes_a_slot_only_once_its_turn_has_answered_that_it_may_start()
    {
        var taskId = await LimitAsync(1);
        var id = await PendingAsync(taskId);
        await using var db = await app.OpenDatabaseAsync();
        var turn = ServerLockName.For(db.Database, "slot-claims");
        var slot = ServerLockName.For(db.Database, "slot:0");
        // Another claim's turn is under way: the run waits for it before anything is taken.
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("SELECT GET_LOCK(@turn, 0)", new { turn }));
        var admitting = RunAdmission.AdmitAsync(id, RunLane.Scheduled, CancellationToken.None);
        Assert.Equal(1, await TaskTestKit.EventuallyAsync(() => WaitersAsync(db, turn), waiters => waiters == 1, 10));
        Assert.Null(await db.ExecuteScalarAsync<long?>("SELECT IS_USED_LOCK(@slot)", new { slot }));
        Assert.Equal(0, Slots.InUse);

        await db.ExecuteAsync("DO RELEASE_LOCK(@turn)", new { turn });
        var room = Assert.IsType<Admission.Room>(await admitting);
        try
        {
            Assert.NotNull(await db.ExecuteScalarAsync<long?>("SELECT IS_USED_LOCK(@slot)", new { slot }));
        }
        finally
        {
            await EndAsync(room);
        }
    }

    /// <summary>Sessions waiting for the server lock <paramref name="name"/> (the statement names it).</summary>
    private static async Task<long> WaitersAsync(MySqlConnection db, string name) =>
        await db.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE CONCAT('%GET_LOCK(%', @name, '%')", new { name });
}
