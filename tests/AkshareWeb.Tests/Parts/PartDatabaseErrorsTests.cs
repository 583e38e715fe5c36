using System.Globalization;
using System.Net.Http.Json;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// A part the database refuses says so in a sentence with MySQL's number; the server's own text (the schema, the table,
/// the constraint) goes to the log only. The other parts keep their rows, and a retry after the cause is gone fills
/// the failed symbol, each symbol ending with exactly what was served.
/// </summary>
public sealed class PartDatabaseErrorsTests(SinceLastApp app) : IClassFixture<SinceLastApp>
{
    private const string Script = SinceLastApp.Script;
    private const string Table = "ak_" + SinceLastApp.Script;

    private async Task<List<string>> DaysAsync(string symbol)
    {
        await using var db = await app.OpenDatabaseAsync();
        return (await db.QueryAsync<string>($"SELECT CAST(`日期` AS CHAR) FROM `{Table}` WHERE `股票代码` = @symbol ORDER BY 1", new { symbol })).ToList();
    }

    private static List<string> Served(string from, string to)
    {
        var days = new List<string>();
        for (var d = DateOnly.ParseExact(from, "yyyyMMdd", CultureInfo.InvariantCulture); d <= DateOnly.ParseExact(to, "yyyyMMdd", CultureInfo.InvariantCulture); d = d.AddDays(1))
        {
            days.Add(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        return days;
    }

    [Fact]
    public async Task A_part_the_database_refuses_fails_with_a_plain_sentence_and_the_raw_text_is_logged()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        Assert.Equal("completed", (await app.DownloadAsync(Script, new { symbol = "730001", start_date = "20240101", end_date = "20240110" }, 60, client))["status"]!.GetValue<string>());
        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync($"ALTER TABLE `{Table}` ADD CONSTRAINT no_730002 CHECK (`股票代码` <> '730002')");
        }

        long interfaceId;
        await using (var db = await app.OpenDatabaseAsync())
        {
            interfaceId = await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @Script", new { Script });
        }

        var id = (await (await client.PostAsJsonAsync("/api/data/download", new
        {
            interface_id = interfaceId,
            parameters = new { symbol = new { values = new[] { "730001", "730002" } }, start_date = new { since_last = "日期" }, end_date = "20240120" },
        })).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        var run = await app.EndAsync(client, id);
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        var part = Assert.Single(await PartsApp.PartsAsync(client, id, "failed"));
        Assert.Equal("730002", part!["parameters"]!["symbol"]!.GetValue<string>());
        var error = part["error_message"]!.GetValue<string>();
        Assert.Equal("the database refused 20 of 20 new rows (MySQL warning 4025; the service's log has the server's message)", error);
        Assert.DoesNotContain("no_730002", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Table, error, StringComparison.Ordinal);
        Assert.Contains(app.Logs.Lines, l => l.Contains(id, StringComparison.Ordinal) && l.Contains("no_730002", StringComparison.Ordinal));
        Assert.Equal(Served("20240101", "20240120"), await DaysAsync("730001"));
        Assert.Empty(await DaysAsync("730002"));

        await using (var db = await app.OpenDatabaseAsync())
        {
            await db.ExecuteAsync($"ALTER TABLE `{Table}` DROP CONSTRAINT no_730002");
        }

        var retry = (await (await client.PostAsync($"/api/executions/{id}/retry", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();
        Assert.Equal("completed", (await app.EndAsync(client, retry))["status"]!.GetValue<string>());
        Assert.Equal(Served("20240101", "20240120"), await DaysAsync("730001"));
        Assert.Equal(Served("20240101", "20240120"), await DaysAsync("730002"));
        Assert.Contains(app.AkTools.Calls, c => c.Function == Script && HttpUtility.ParseQueryString(c.Query)["symbol"] == "730002");
    }
}
