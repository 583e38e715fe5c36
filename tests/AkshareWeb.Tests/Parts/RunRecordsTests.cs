using System.Globalization;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// An execution's record says what ran: a parted run's parameters show its sources as they were given and where each
/// part's values are, its rows_inserted and rows_updated are its parts' sums; a task run by /execute is its last run;
/// _collected_at is UTC with a Z; an export is named by the market's day. Symbols are stored to different days first.
/// </summary>
public sealed class RunRecordsTests(SinceLastApp app) : IClassFixture<SinceLastApp>
{
    private const string Script = SinceLastApp.Script;
    private const string Table = "ak_" + SinceLastApp.Script;

    private async Task<long> RowsAsync()
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM `{Table}`");
    }

    [Fact]
    public async Task A_parted_run_shows_its_sources_as_given_where_its_parts_values_are_and_the_sums_of_its_parts_rows()
    {
        app.ServeWindowBars(Script);
        app.ServeCodes(("710001", "sh"), ("710002", "sz"), ("710003", "sh"));
        var (client, _, _) = await app.NewUserAsync();
        var codes = await app.EndAsync(client, await PartsApp.ExecuteAsync(client, await app.ScriptTaskAsync(client, "fanout_codes_em", new { })));
        Assert.Equal("completed", codes["status"]!.GetValue<string>());
        foreach (var (symbol, to) in new[] { ("710001", "20240110"), ("710002", "20240301") })
        {
            Assert.Equal("completed", (await app.DownloadAsync(Script, new { symbol, start_date = "20240101", end_date = to }, 60, client))["status"]!.GetValue<string>());
        }

        var before = await RowsAsync();
        var taskId = await app.ScriptTaskAsync(client, Script, new
        {
            symbol = new { from_table = "ak_fanout_codes_em", column = "code", filter = new { market = new { like = "s" } } },
            start_date = new { since_last = "日期", overlap_days = 1 },
            end_date = "20240315",
        });
        var task = (await (await client.GetAsync($"/api/tasks/{taskId}")).ExpectAsync(200, 0))["data"]!;
        Assert.Null(task["last_execution_at"]);

        var id = await PartsApp.ExecuteAsync(client, taskId);
        var run = await app.EndAsync(client, id);
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());

        var parameters = run["parameters"]!;
        Assert.Equal("ak_fanout_codes_em", parameters["symbol"]!["from_table"]!.GetValue<string>());
        Assert.Equal("code", parameters["symbol"]!["column"]!.GetValue<string>());
        Assert.Equal("s", parameters["symbol"]!["filter"]!["market"]!["like"]!.GetValue<string>());
        Assert.Equal("日期", parameters["start_date"]!["since_last"]!.GetValue<string>());
        Assert.Equal(1, parameters["start_date"]!["overlap_days"]!.GetValue<int>());
        Assert.Null(parameters["start_date"]!["match"]);
        Assert.Equal("20240315", parameters["end_date"]!.GetValue<string>());
        Assert.Equal("daily", parameters["period"]!.GetValue<string>());
        Assert.Equal($"/api/executions/{id}/parts", run["part_values"]!.GetValue<string>());

        // Where it says, each part's own symbol and the day it asked from (its last day, one of overlap).
        var parts = await PartsApp.PartsAsync(client, id);
        var asked = parts.ToDictionary(p => p!["parameters"]!["symbol"]!.GetValue<string>(), p => p!["parameters"]!["start_date"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["710001"] = "20240109", ["710002"] = "20240229", ["710003"] = "20240101" }, asked);
        foreach (var (symbol, from) in asked)
        {
            Assert.Contains(app.AkTools.Calls, c => c.Function == Script && HttpUtility.ParseQueryString(c.Query)["symbol"] == symbol
                && HttpUtility.ParseQueryString(c.Query)["start_date"] == from);
        }

        // New days: 710001 01-11..03-15 (65), 710002 03-02..03-15 (14), 710003 01-01..03-15 (75); the overlap days
        // came back unchanged, so nothing was updated.
        Assert.Equal(65 + 14 + 75, await RowsAsync() - before);
        Assert.Equal(65 + 14 + 75, run["rows_inserted"]!.GetValue<long>());
        Assert.Equal(0, run["rows_updated"]!.GetValue<long>());
        Assert.Equal(run["rows_affected"]!.GetValue<long>(), run["rows_inserted"]!.GetValue<long>() + run["rows_updated"]!.GetValue<long>());

        // /execute made it the task's last run, in UTC with a Z like every timestamp.
        task = (await (await client.GetAsync($"/api/tasks/{taskId}")).ExpectAsync(200, 0))["data"]!;
        var last = task["last_execution_at"]!.GetValue<string>();
        Assert.EndsWith("Z", last, StringComparison.Ordinal);
        var started = DateTime.Parse(run["created_at"]!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        Assert.InRange(DateTime.Parse(last, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), started.AddSeconds(-5), started.AddSeconds(5));
        Assert.Equal("completed", task["last_status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Collected_at_is_answered_in_UTC_with_a_Z_and_the_export_is_named_by_the_market_day()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        Assert.Equal("completed", (await app.DownloadAsync(Script, new { symbol = "720001", start_date = "20240101", end_date = "20240103" }, 60, client))["status"]!.GetValue<string>());

        var items = (await (await client.GetAsync($"/api/tables/{Table}/data?filter[{Uri.EscapeDataString("股票代码")}]=720001")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray();
        Assert.Equal(3, items.Count);
        foreach (var item in items)
        {
            var collected = item!["_collected_at"]!.GetValue<string>();
            Assert.EndsWith("Z", collected, StringComparison.Ordinal);
            // The test process runs in Asia/Kolkata: a local time would be 5.5 hours off.
            var at = DateTime.Parse(collected, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            Assert.InRange(at, DateTime.UtcNow.AddMinutes(-10), DateTime.UtcNow.AddMinutes(1));
        }

        var shanghai = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai"));
        var export = await client.GetAsync($"/api/tables/{Table}/export?format=csv&filter[{Uri.EscapeDataString("股票代码")}]=720001");
        Assert.Equal(200, (int)export.StatusCode);
        Assert.Equal($"{Table}_{shanghai:yyyyMMdd}.csv", export.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
        var lines = (await export.Content.ReadAsStringAsync()).Trim('\uFEFF').Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var column = lines[0].Split(',').ToList().IndexOf("_collected_at");
        Assert.True(column >= 0, lines[0]);
        Assert.All(lines.Skip(1), l => Assert.EndsWith("Z", l.Split(',')[column], StringComparison.Ordinal));
    }
}
