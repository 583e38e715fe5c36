using System.Text.Json.Nodes;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Tests.Executions;

/// <summary>
/// An execution's <c>result</c> as the API shows it: each kind of run's shape serialises to the keys the clients read
/// (snake_case), and a field the run has nothing to say about is left out rather than written as null.
/// </summary>
public sealed class RunResultTests
{
    private static readonly PartCounts Counts = new(Total: 10, Done: 7, Failed: 2, Pending: 0, Running: 1, Cancelled: 0, Recent: 25,
        Fetched: 900, Written: 850, Inserted: 800, Updated: 50);

    private static JsonObject Parse(RunResult result) => JsonNode.Parse(result.ToJson())!.AsObject();

    private static string[] Keys(JsonObject json) => [.. json.Select(p => p.Key).Order(StringComparer.Ordinal)];

    [Fact]
    public void A_single_run_tells_its_rows_and_its_table()
    {
        var json = Parse(RunResult.OfSingleRun("success", "ak_stock_zh_a_hist", fetched: 120, inserted: 70, updated: 20, written: 120));

        Assert.Equal(new[] { "message", "rows_fetched", "rows_inserted", "rows_unchanged", "rows_updated", "table_name" }, Keys(json));
        Assert.Equal("success", json["message"]!.GetValue<string>());
        Assert.Equal(120, json["rows_fetched"]!.GetValue<long>());
        Assert.Equal(70, json["rows_inserted"]!.GetValue<long>());
        Assert.Equal(20, json["rows_updated"]!.GetValue<long>());
        Assert.Equal(30, json["rows_unchanged"]!.GetValue<long>());
        Assert.Equal("ak_stock_zh_a_hist", json["table_name"]!.GetValue<string>());
    }

    [Fact]
    public void A_single_run_that_rebuilt_its_key_tells_what_the_write_did_to_the_table()
    {
        var json = Parse(RunResult.OfSingleRun("success", "ak_t", 5, 5, 0, 5) with
        {
            ColumnsAdded = 2,
            ColumnsWidened = 1,
            KeyRebuilt = ["date", "symbol"],
            EarlierDuplicatesRemoved = 3,
        });

        Assert.Equal(
            new[] { "columns_added", "columns_widened", "earlier_duplicates_removed", "key_rebuilt", "message", "rows_fetched", "rows_inserted", "rows_unchanged",
                "rows_updated", "table_name" },
            Keys(json));
        Assert.Equal(new[] { "date", "symbol" }, json["key_rebuilt"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(3, json["earlier_duplicates_removed"]!.GetValue<long>());
        Assert.Equal(0, json["rows_unchanged"]!.GetValue<long>());
    }

    [Fact]
    public void A_parted_run_tells_its_parts_and_its_site_family()
    {
        var json = Parse(RunResult.OfPartedRun("success: 10 parts", "ak_t", "eastmoney", 2.5, null, Counts));

        Assert.Equal(
            new[] { "message", "parts_done", "parts_failed", "parts_total", "rate_limit", "rows_fetched", "rows_written", "source_family", "table_name" },
            Keys(json));
        Assert.Equal(10, json["parts_total"]!.GetValue<long>());
        Assert.Equal(7, json["parts_done"]!.GetValue<long>());
        Assert.Equal(2, json["parts_failed"]!.GetValue<long>());
        Assert.Equal(900, json["rows_fetched"]!.GetValue<long>());
        Assert.Equal(850, json["rows_written"]!.GetValue<long>());
        Assert.Equal(2.5, json["rate_limit"]!.GetValue<double>());
    }

    [Fact]
    public void A_parted_run_whose_site_family_paused_says_so()
    {
        var json = Parse(RunResult.OfPartedRun("success: 10 parts (eastmoney paused during the run)", "ak_t", "eastmoney", 2.5, "eastmoney paused", Counts));

        Assert.Equal(
            new[] { "message", "parts_done", "parts_failed", "parts_total", "rate_limit", "rows_fetched", "rows_written", "site_paused", "source_family", "table_name" },
            Keys(json));
        Assert.Equal("eastmoney paused", json["site_paused"]!.GetValue<string>());
    }

    [Fact]
    public void A_parted_run_going_on_tells_its_live_rate()
    {
        var json = Parse(RunResult.Live("eastmoney", 2.5, 1.25, null, Counts));

        Assert.Equal(new[] { "effective_rate", "message", "parts_running", "parts_waiting", "rate_allowed", "rate_limit", "source_family" }, Keys(json));
        Assert.Equal("9 of 10 parts done", json["message"]!.GetValue<string>());
        Assert.Equal(1.25, json["rate_allowed"]!.GetValue<double>());
        Assert.Equal(2.5, json["effective_rate"]!.GetValue<double>());
        Assert.Equal(0, json["parts_waiting"]!.GetValue<long>());
        Assert.Equal(1, json["parts_running"]!.GetValue<long>());

        var paused = Parse(RunResult.Live("eastmoney", 2.5, 1.25, "eastmoney paused", Counts));
        Assert.Equal("9 of 10 parts done; waiting: eastmoney paused", paused["message"]!.GetValue<string>());
        Assert.Equal("eastmoney paused", paused["site_paused"]!.GetValue<string>());
    }

    [Fact]
    public void A_run_that_could_not_start_tells_only_why()
    {
        Assert.Equal("""{"message":"the data script x is broken: gone"}""", new RunResult("the data script x is broken: gone").ToJson());
    }
}
