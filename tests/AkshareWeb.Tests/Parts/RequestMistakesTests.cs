using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Web;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// Mistakes a new user makes are answered when the request is made, on every path (download, task create and update,
/// script test), and nothing is fetched or written for them: a since_last column the target table lacks, a window
/// whose start is after its end. Symbols are stored to different days first; each keeps exactly its rows.
/// </summary>
public sealed class RequestMistakesTests(SinceLastApp app) : IClassFixture<SinceLastApp>
{
    private const string Script = SinceLastApp.Script;
    private const string Table = "ak_" + SinceLastApp.Script;

    private int CallsFor(params string[] symbols) =>
        app.AkTools.Calls.Count(c => c.Function == Script && symbols.Contains(HttpUtility.ParseQueryString(c.Query)["symbol"]));

    private async Task<Dictionary<string, (long Rows, string Last)>> StoredAsync(params string[] symbols)
    {
        await using var db = await app.OpenDatabaseAsync();
        var stored = new Dictionary<string, (long, string)>();
        foreach (var symbol in symbols)
        {
            stored[symbol] = await db.QuerySingleAsync<(long, string)>(
                $"SELECT COUNT(*), COALESCE(CAST(MAX(`日期`) AS CHAR), '') FROM `{Table}` WHERE `股票代码` = @symbol", new { symbol });
        }

        return stored;
    }

    private async Task<long> InterfaceIdAsync()
    {
        await using var db = await app.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT id FROM interfaces WHERE name = @Script", new { Script });
    }

    /// <summary>The four requests that take parameters, each answered as the caller sees it.</summary>
    private async Task<List<JsonNode>> EveryPathAsync(HttpClient client, object parameters, long taskId)
    {
        var answers = new List<JsonNode>
        {
            await (await client.PostAsJsonAsync("/api/data/download", new { interface_id = await InterfaceIdAsync(), parameters })).ExpectAsync(422, 3001),
            await (await client.PostAsJsonAsync("/api/tasks/", new
            {
                name = "mistake", script_id = Script, schedule_type = "cron", schedule_expression = "0 3 1 1 *", parameters,
            })).ExpectAsync(422, 3001),
            await (await client.PutAsJsonAsync($"/api/tasks/{taskId}", new { parameters })).ExpectAsync(422, 3001),
            await (await client.PostAsJsonAsync($"/api/scripts/{Script}/test", new { parameters })).ExpectAsync(422, 3001),
        };
        return answers;
    }

    private static void Names(JsonNode body, string field, params string[] words) => Assert.Contains(body["detail"]!.AsArray(), e =>
        e!["field"]!.GetValue<string>() == field && words.All(w => e["message"]!.GetValue<string>().Contains(w, StringComparison.Ordinal)));

    [Fact]
    public async Task A_since_last_column_the_table_lacks_is_a_422_on_every_path_and_nothing_is_fetched()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        foreach (var (symbol, to) in new[] { ("810001", "20240131"), ("810002", "20240229") })
        {
            var run = await app.DownloadAsync(Script, new { symbol, start_date = "20240101", end_date = to }, 60, client);
            Assert.Equal("completed", run["status"]!.GetValue<string>());
        }

        var before = await StoredAsync("810001", "810002");
        var calls = CallsFor("810001", "810002", "810003");
        var taskId = await app.ScriptTaskAsync(client, Script, new { symbol = "810001", start_date = "20240101" });
        foreach (var symbol in new object[] { "810001", new { values = new[] { "810001", "810002", "810003" } } })
        {
            var answers = await EveryPathAsync(client, new { symbol, start_date = new { since_last = "date" }, end_date = "20240329" }, taskId);
            // The message names the column asked for, the table, and the column that would do.
            Assert.All(answers, a => Names(a, "parameters.start_date.since_last", "no column date", Table, "日期"));
        }

        Assert.Equal(calls, CallsFor("810001", "810002", "810003"));
        Assert.Equal(before, await StoredAsync("810001", "810002"));
        Assert.Equal((0, ""), (await StoredAsync("810003"))["810003"]);

        // The right column goes through on the same paths: each symbol from its own last day.
        var test = (await (await client.PostAsJsonAsync($"/api/scripts/{Script}/test", new
        {
            parameters = new { symbol = "810002", start_date = new { since_last = "日期" }, end_date = "20240329" },
        })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal("20240229", test["parameters"]!["start_date"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_start_date_after_the_end_date_is_a_422_naming_both_on_every_path()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        var taskId = await app.ScriptTaskAsync(client, Script, new { symbol = "820001" });
        var calls = CallsFor("820001");
        foreach (var answer in await EveryPathAsync(client, new { symbol = "820001", start_date = "20240501", end_date = "2024-04-30" }, taskId))
        {
            Names(answer, "parameters.start_date", "start_date 20240501", "end_date 20240430");
        }

        // Relative dates are compared as they resolve; the script's default end (2024-03-29) counts as well.
        foreach (var answer in await EveryPathAsync(client, new { symbol = "820001", start_date = "today", end_date = "today-30d" }, taskId))
        {
            Names(answer, "parameters.start_date", "is after end_date");
        }

        foreach (var answer in await EveryPathAsync(client, new { symbol = "820001", start_date = "20240401" }, taskId))
        {
            Names(answer, "parameters.start_date", "start_date 20240401", "end_date 20240329");
        }

        Assert.Equal(calls, CallsFor("820001"));
        // One day is a window.
        var run = await app.DownloadAsync(Script, new { symbol = "820001", start_date = "20240105", end_date = "20240105" }, 60, client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal((1, "2024-01-05"), (await StoredAsync("820001"))["820001"]);
    }

    [Fact]
    public async Task A_script_test_with_an_empty_answer_says_AKShare_had_no_data_and_which_dates_were_asked()
    {
        app.AkTools.NoData(Script);
        var (client, _, _) = await app.NewUserAsync();
        var test = (await (await client.PostAsJsonAsync($"/api/scripts/{Script}/test", new
        {
            parameters = new { symbol = "830001", start_date = "2024-02-01", end_date = "20240207" },
        })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(0, test["rows_affected"]!.GetValue<long>());
        var message = test["message"]!.GetValue<string>();
        Assert.Contains("AKShare had no data for " + Script + " with these parameters", message, StringComparison.Ordinal);
        Assert.Contains("the dates asked: start_date 20240201, end_date 20240207", message, StringComparison.Ordinal);

        // The script's default window is named as it was asked; an answer with rows says nothing.
        var none = (await (await client.PostAsJsonAsync($"/api/scripts/{Script}/test", new { parameters = new { symbol = "830001" } })).ExpectAsync(200, 0))["data"]!;
        Assert.Contains("the dates asked: start_date 20240101, end_date 20240329", none["message"]!.GetValue<string>(), StringComparison.Ordinal);
        app.ServeWindowBars(Script);
        var some = (await (await client.PostAsJsonAsync($"/api/scripts/{Script}/test", new { parameters = new { symbol = "830001" } })).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(89, some["rows_affected"]!.GetValue<long>());
        Assert.Null(some["message"]);
    }

    [Fact]
    public async Task Date_filters_on_the_data_page_take_iso_and_compact_days_and_refuse_anything_else()
    {
        app.ServeWindowBars(Script);
        var (client, _, _) = await app.NewUserAsync();
        foreach (var (symbol, to) in new[] { ("840001", "20240120"), ("840002", "20240110") })
        {
            Assert.Equal("completed", (await app.DownloadAsync(Script, new { symbol, start_date = "20240101", end_date = to }, 60, client))["status"]!.GetValue<string>());
        }

        var day = Uri.EscapeDataString("日期");
        var code = Uri.EscapeDataString("股票代码");
        async Task<List<string>> DaysAsync(string gte, string lt) =>
            (await (await client.GetAsync($"/api/tables/{Table}/data?filter[{code}][like]=8400&filter[{day}][gte]={gte}&filter[{day}][lt]={lt}&sort_by={day}&page_size=100"))
                .ExpectAsync(200, 0))["data"]!["items"]!.AsArray().Select(r => r!["股票代码"]!.GetValue<string>() + " " + r["日期"]!.GetValue<string>()).Order().ToList();

        var iso = await DaysAsync("2024-01-08", "2024-01-12");
        Assert.Equal(["840001 2024-01-08", "840001 2024-01-09", "840001 2024-01-10", "840001 2024-01-11", "840002 2024-01-08", "840002 2024-01-09", "840002 2024-01-10"], iso);
        Assert.Equal(iso, await DaysAsync("20240108", "20240112"));
        Assert.Equal(iso, await DaysAsync("20240108", "2024-01-12"));

        foreach (var wrong in new[] { "Jan 2024", "2024/01/01", "2024-1-5", "01/05/2024", "2024-01-05 09:30:00", "20241301" })
        {
            var refused = await (await client.GetAsync($"/api/tables/{Table}/data?filter[{day}][gte]={Uri.EscapeDataString(wrong)}")).ExpectAsync(422, 3001);
            Assert.Contains("yyyy-MM-dd or yyyyMMdd", refused["detail"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        // like compares the day's text: January 2024.
        var january = (await (await client.GetAsync($"/api/tables/{Table}/data?filter[{code}]=840002&filter[{day}][like]=2024-01&page_size=100"))
            .ExpectAsync(200, 0))["data"]!["total"]!.GetValue<long>();
        Assert.Equal(10, january);
    }
}
