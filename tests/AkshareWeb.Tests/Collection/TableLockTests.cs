using System.Globalization;
using AkshareWeb.Features.Collection;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Tests.Collection;

/// <summary>
/// Two runs writing into one new table, whose answers differ in shape: every change a writer makes to the table
/// (its columns, its key's index, its defaults) happens under the table's lock, so one writer never changes the table
/// while the other holds the lock between looking at it and acting on what it saw. The writers' steps are held and
/// watched through <see cref="WarehouseWriter.Checkpoint"/>, not timed.
/// </summary>
public sealed class TableLockTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static object Bar(string symbol, DateOnly day, bool adjusted)
    {
        var bar = (Dictionary<string, object?>)TestScripts.Bar(symbol, day, 10 + day.Day);
        if (adjusted)
        {
            bar["换手率"] = 0.35;
            bar["复权因子"] = 1.5;
        }

        return bar;
    }

    private static IEnumerable<object> Bars(string symbol) =>
        Enumerable.Range(0, 5).Select(i => Bar(symbol, new DateOnly(2024, 6, 3).AddDays(i), adjusted: symbol == "B00002"));

    [Fact]
    public async Task A_second_run_changes_a_new_table_only_once_the_first_has_let_go_of_its_lock()
    {
        const string table = "ak_lock_race_bars";
        await app.AddBarsScriptAsync("lock_race_bars", "锁竞争日线");
        app.AkTools.Rows("lock_race_bars", q => Bars(q["symbol"].ToString()));
        var writer = app.Services.GetRequiredService<WarehouseWriter>();
        var held = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondAtTheLock = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        writer.Checkpoint = step =>
        {
            if (step.Table != table) return Task.CompletedTask;
            // The first run, under the lock, about to look for its key's index on the table it made: held there.
            if (step.Step == WriteStep.KeyIndex && held.TrySetResult(step.ExecutionId)) return release.Task;
            if (step.Step == WriteStep.Lock && held.Task.IsCompleted && held.Task.Result != step.ExecutionId) secondAtTheLock.TrySetResult();
            return Task.CompletedTask;
        };

        try
        {
            var (client, _, _) = await app.NewUserAsync();
            var first = await StartAsync(client, "B00001");
            Assert.Equal(first, await held.Task.WaitAsync(Patience));

            // The second run's answer has a column more: it must not add it while the first holds the table's lock.
            var second = await StartAsync(client, "B00002");
            await secondAtTheLock.Task.WaitAsync(Patience);
            Assert.DoesNotContain("复权因子", await ColumnsAsync(table));

            release.SetResult();
            var firstEnd = await app.WaitForEndAsync(client, first, 60);
            var secondEnd = await app.WaitForEndAsync(client, second, 60);
            Assert.True(firstEnd["status"]!.GetValue<string>() == "completed", firstEnd.ToJsonString());
            Assert.True(secondEnd["status"]!.GetValue<string>() == "completed", secondEnd.ToJsonString());
            Assert.Equal(1, secondEnd["result"]!["columns_added"]!.GetValue<int>());

            await using var db = await app.OpenDatabaseAsync();
            Assert.Contains("复权因子", await ColumnsAsync(table));
            Assert.Equal(["股票代码", "日期"], await db.QueryAsync<string>(
                "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND INDEX_NAME = 'ux_natural_key' ORDER BY SEQ_IN_INDEX",
                new { table }));
            var rows = (await db.QueryAsync<(string Symbol, string Day, double Close, double? Turnover, double? Factor)>(
                $"SELECT `股票代码`, CAST(`日期` AS CHAR), `收盘`, CAST(`换手率` AS DOUBLE), `复权因子` FROM `{table}` ORDER BY 1, 2")).ToList();
            var expected = new[] { "B00001", "B00002" }.SelectMany(s => Enumerable.Range(0, 5).Select(i =>
            {
                var day = new DateOnly(2024, 6, 3).AddDays(i);
                var adjusted = s == "B00002";
                return (s, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), (double)(10 + day.Day), adjusted ? 0.35 : (double?)null, adjusted ? 1.5 : (double?)null);
            })).ToList();
            Assert.Equal(expected, rows);
        }
        finally
        {
            writer.Checkpoint = null;
            release.TrySetResult();
        }
    }

    private async Task<string> StartAsync(HttpClient client, string symbol)
    {
        long id;
        await using (var db = await app.OpenDatabaseAsync())
        {
            id = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = 'lock_race_bars'");
        }

        var started = await System.Net.Http.Json.HttpClientJsonExtensions.PostAsJsonAsync(client, "/api/data/download", new { interface_id = id, parameters = new { symbol } });
        return (await started.ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
    }

    private async Task<List<string>> ColumnsAsync(string table)
    {
        await using var db = await app.OpenDatabaseAsync();
        return (await db.QueryAsync<string>("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table", new { table })).ToList();
    }
}
