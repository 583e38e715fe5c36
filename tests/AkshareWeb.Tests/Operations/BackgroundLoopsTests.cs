using System.Net.Http.Json;
using System.Net.Sockets;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Notifications;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AkshareWeb.Tests.Operations;

/// <summary>
/// The service's background loops (the execution watchdog, the parts pump, the notifications' sender, the executions'
/// pruner) meet the database failing as it fails after a network blip: a pooled connection whose socket was reset throws a bare SocketException
/// on its first command, not a MySqlException. A loop that let it through would end its BackgroundService, and the
/// host stops with it (the default of .NET's hosts), interrupting every run in progress.
/// </summary>
public sealed class BackgroundLoopsTests(RunLogApp app) : IClassFixture<RunLogApp>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_reset_connection_under_the_background_loops_stops_neither_the_service_nor_the_run_in_progress()
    {
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.AkTools.Handle("stock_zh_a_spot_em", async context =>
        {
            called.TrySetResult();
            await answer.Task.WaitAsync(context.RequestAborted);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("[{\"代码\": \"000001\", \"最新价\": 10.5}]", context.RequestAborted);
        });
        var (client, _, _) = await app.NewUserAsync();
        long interfaceId;
        await using (var db = await app.OpenDatabaseAsync())
        {
            interfaceId = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'stock_zh_a_spot_em'");
        }

        var executionId = (await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = interfaceId, parameters = new { } }))
            .ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        // The run is in AKTools' hands: what it does next needs the database only once the answer comes.
        await called.Task.WaitAsync(Patience);

        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watch = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        var database = app.Services.GetRequiredService<Database>();
        var seen = app.Lines.Count;
        database.Opened = _ => throw new SocketException((int)SocketError.ConnectionReset);
        try
        {
            // Until the watchdog, the parts pump, the notifications' sender (polling every 2 s) and the pruner have each
            // met it and said so, or the service stopped under them.
            var met = MetAsync(seen, typeof(ExecutionWatchdog).FullName!, typeof(PartsPump).FullName!, typeof(DeliveryWorker).FullName!,
                typeof(ExecutionPruner).FullName!);
            await Task.WhenAny(met, stopping.Task).WaitAsync(Patience);
        }
        finally
        {
            database.Opened = null;
        }

        Assert.False(stopping.Task.IsCompleted, "the service began to stop when a background loop met a reset connection");
        answer.SetResult();
        var ended = await app.WaitForEndAsync(client, executionId, 60);
        Assert.True(ended["status"]!.GetValue<string>() == "completed", ended.ToJsonString());
        await (await client.GetAsync("/api/auth/me")).ExpectAsync(200, 0);
    }

    /// <summary>Done once every category named has logged a line since the <paramref name="seen"/>th.</summary>
    private async Task MetAsync(int seen, params string[] categories)
    {
        while (!categories.All(c => app.Lines.Skip(seen).Any(l => l.Category == c)))
        {
            await Task.Delay(50);
        }
    }
}
