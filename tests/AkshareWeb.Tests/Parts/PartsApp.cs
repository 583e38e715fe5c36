using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;
using AkshareWeb.Tests.Tasks;
using Dapper;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// The app with the fan-out scripts: daily bars keyed on 股票代码, 日期 and period (fanout_bars_em, eastmoney; the
/// same as fanout_bars_sina, sina), and a code list (fanout_codes_em). eastmoney is unlimited here, sina 5 calls/s;
/// a run may have 50 parts at most.
/// </summary>
public class PartsApp : CollectingApp
{
    public PartsApp()
    {
        Set("SourceRates:Default", "0");
        Set("SourceRates:Families:eastmoney", "0");
        Set("SourceRates:Families:sina", "5");
        Set("Parts:MaxParts", "50");
        foreach (var family in new[] { "em", "sina" })
        {
            WriteScript($"stocks/daily/fanout_bars_{family}.json", $$"""
                {"id": "fanout_bars_{{family}}", "name": "扇出日线 {{family}}", "category": "stocks", "frequency": "daily", "interface": "fanout_bars_{{family}}",
                 "parameters": [
                   {"name": "symbol", "type": "string", "required": true, "role": "key", "column": "股票代码"},
                   {"name": "period", "type": "string", "default": "daily", "allowed": ["daily", "weekly"], "role": "key"},
                   {"name": "start_date", "type": "date", "format": "yyyyMMdd", "default": "20240601", "role": "range"},
                   {"name": "end_date", "type": "date", "format": "yyyyMMdd", "default": "20240610", "role": "range"}],
                 "target_table": "ak_fanout_bars_{{family}}", "write_mode": "upsert", "key_columns": ["股票代码", "日期", "period"],
                 "extra_columns": {"period": "{period}"} }
                """);
        }

        WriteScript("stocks/weekly/fanout_codes_em.json", """
            {"id": "fanout_codes_em", "name": "代码表", "category": "stocks", "frequency": "weekly", "interface": "fanout_codes_em",
             "parameters": [], "target_table": "ak_fanout_codes_em", "write_mode": "replace", "key_columns": []}
            """);
    }

    /// <summary>When each call of a function reached the fake (for the rate), by function.</summary>
    public ConcurrentQueue<(string Function, DateTime At, string Symbol)> Arrivals { get; } = new();

    /// <summary>
    /// Bars for the asked symbol, one per calendar day from start_date to end_date; a symbol in
    /// <paramref name="failing"/> gets AKTools' 500 (the upstream site failed), every try.
    /// </summary>
    public void ServeWindowBars(string function, TimeSpan delay = default, params string[] failing) =>
        AkTools.Handle(function, async context =>
        {
            var query = context.Request.Query;
            var symbol = query["symbol"].ToString();
            Arrivals.Enqueue((function, DateTime.UtcNow, symbol));
            if (delay > TimeSpan.Zero) await Task.Delay(delay, context.RequestAborted);
            if (failing.Contains(symbol))
            {
                context.Response.StatusCode = 500;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("Internal Server Error", context.RequestAborted);
                return;
            }

            var from = DateOnly.ParseExact(query["start_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
            var to = DateOnly.ParseExact(query["end_date"].ToString(), "yyyyMMdd", CultureInfo.InvariantCulture);
            var bars = new List<object>();
            for (var day = from; day <= to; day = day.AddDays(1)) bars.Add(TestScripts.Bar(symbol, day, 10 + day.Day));
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(bars), context.RequestAborted);
        });

    public void ServeCodes(params (string Code, string Market)[] codes) =>
        AkTools.Rows("fanout_codes_em", codes.Select(c => (object)new Dictionary<string, object?> { ["code"] = c.Code, ["market"] = c.Market }).ToArray());

    public async Task<long> ScriptTaskAsync(HttpClient client, string scriptId, object parameters, int? concurrency = null, bool retry = false)
    {
        var response = await client.PostAsJsonAsync("/api/tasks/", new
        {
            name = "全市场 " + scriptId,
            script_id = scriptId,
            schedule_type = "cron",
            schedule_expression = "0 3 1 1 *",
            parameters,
            retry_on_failure = retry,
            max_retries = retry ? 1 : 0,
            concurrency,
        });
        return (await response.ExpectAsync(201, 0))["data"]!["id"]!.GetValue<long>();
    }

    public static async Task<string> ExecuteAsync(HttpClient client, long taskId) =>
        (await (await client.PostAsync($"/api/tasks/{taskId}/execute", null)).ExpectAsync(200, 0))["data"]!["execution_id"]!.GetValue<string>();

    public static async Task<JsonArray> PartsAsync(HttpClient client, string executionId, string? status = null)
    {
        var query = status is null ? "" : $"&status={status}";
        return (await (await client.GetAsync($"/api/executions/{executionId}/parts?page_size=100{query}")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray();
    }

    public async Task<List<(string Symbol, string Day, string Period)>> BarsAsync(string table)
    {
        await using var db = await OpenDatabaseAsync();
        return (await db.QueryAsync<(string, string, string)>($"SELECT `股票代码`, CAST(`日期` AS CHAR), `period` FROM `{table}` ORDER BY 1, 2, 3")).ToList();
    }

    public async Task<JsonNode> EndAsync(HttpClient client, string executionId, int seconds = 60) =>
        await TaskTestKit.EventuallyAsync(async () => (await (await client.GetAsync($"/api/executions/{executionId}")).ExpectAsync(200, 0))["data"]!,
            e => e["status"]!.GetValue<string>() is "completed" or "failed" or "cancelled" or "timeout", seconds);
}
