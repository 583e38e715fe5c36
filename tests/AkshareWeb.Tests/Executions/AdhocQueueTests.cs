using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;

namespace AkshareWeb.Tests.Executions;

public sealed class AdhocQueueTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    [Fact]
    public async Task Downloads_run_on_their_own_queue_and_neither_wait_for_nor_take_a_scheduled_slot()
    {
        app.ServeBars();
        var admin = await app.AdminAsync();
        await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 1 })).ExpectAsync(200, 0);
        await using var holder = await app.OpenDatabaseAsync();
        try
        {
            // Hold the only slot of scheduled collection, as a long scheduled run would.
            var slot = $"akshareweb:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(holder.Database)))[..16]}:slot:0";
            Assert.Equal(1, await holder.ExecuteScalarAsync<int>("SELECT GET_LOCK(@slot, 0)", new { slot }));

            var (client, _, _) = await app.NewUserAsync();
            var taskId = (await client.CreateAsync(TaskTestKit.Daily("000001", "cron", "0 3 1 1 *")))["id"]!.GetValue<long>();
            var scheduled = (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

            var download = await app.DownloadAsync("stock_zh_a_hist", new { symbol = "000002" }, client: client);
            Assert.Equal("completed", download["status"]!.GetValue<string>());
            // The task's run still waits for the slot: the download went past it, not through it.
            Assert.Equal("pending", (await (await client.GetAsync($"/api/executions/{scheduled}")).ExpectAsync(200, 0))["data"]!["status"]!.GetValue<string>());

            var queues = (await holder.QueryAsync<string>("""
                SELECT s.Data FROM hangfire_state s JOIN hangfire_job j ON j.Id = s.JobId
                WHERE s.Name = 'Enqueued' AND j.Arguments LIKE CONCAT('%', @id, '%')
                """, new { id = download["execution_id"]!.GetValue<string>() })).ToList();
            Assert.Contains("\"adhoc\"", Assert.Single(queues), StringComparison.Ordinal);

            // Retried, a download is a download again: the ad-hoc queue, past the held slot.
            var retry = (await (await client.PostAsync($"/api/executions/{download["execution_id"]}/retry", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
            Assert.Equal("completed", (await app.WaitForEndAsync(client, retry, 30))["status"]!.GetValue<string>());

            await holder.ExecuteAsync("DO RELEASE_LOCK(@slot)", new { slot });
            Assert.Equal("completed", (await app.WaitForEndAsync(client, scheduled, 30))["status"]!.GetValue<string>());
        }
        finally
        {
            await (await admin.PutAsJsonAsync("/api/settings/", new { max_concurrent_tasks = 5 })).ExpectAsync(200, 0);
        }
    }
}
