using AkshareWeb.Features.Warehouse;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static AkshareWeb.Tests.Tables.CoverageApp;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// Coverage against the bundled calendar (Labour Day and the Dragon Boat Festival of 2024 closed), the clock at
/// 2024-06-14 16:00 Beijing time: Friday's close has passed, so 06-14 is the last day that counts. Each test has
/// symbols of its own, chosen with a filter.
/// </summary>
public sealed class GetTableCoverageTests(CoverageApp app) : IClassFixture<CoverageApp>
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);
    private static readonly HashSet<string> Made = [];

    /// <summary>600001 whole, 600002 with holes, 600003 listed on 05-27, 600004 stopped after 06-07: collected once per app.</summary>
    private async Task<HttpClient> FourSymbolsAsync()
    {
        var (client, _, _) = await app.NewUserAsync();
        await OneAtATime.WaitAsync();
        try
        {
            if (Made.Add(app.ConnectionString))
            {
                await app.CollectAsync(client, "600001", Trading("2024-04-22", "2024-06-14"));
                await app.CollectAsync(client, "600002", Trading("2024-04-22", "2024-06-14", "2024-05-20", "2024-05-21", "2024-05-22", "2024-06-05"));
                await app.CollectAsync(client, "600003", Trading("2024-05-27", "2024-06-14"));
                await app.CollectAsync(client, "600004", Trading("2024-04-22", "2024-06-07"));
            }
        }
        finally
        {
            OneAtATime.Release();
        }

        return client;
    }

    private const string FourSymbols = "filter[股票代码][gte]=600001&filter[股票代码][lte]=600004";

    [Fact]
    public async Task Holes_a_symbol_listed_mid_range_and_a_stale_symbol_are_told_apart()
    {
        var client = await FourSymbolsAsync();
        var coverage = await CoverageAsync(client, "?" + FourSymbols);

        Assert.Equal("日期", coverage["date_column"]!.GetValue<string>());
        Assert.Equal(["股票代码", "period"], Days(coverage["key_columns"]));
        Assert.Equal("2024-06-14", coverage["expected_through"]!.GetValue<string>());
        Assert.False(coverage["past_calendar_end"]!.GetValue<bool>());
        Assert.StartsWith("derived:", coverage["calendar"]!["source"]!.GetValue<string>(), StringComparison.Ordinal);

        var whole = KeyOf(coverage, "600001");
        Assert.Equal("2024-04-22", whole["first_date"]!.GetValue<string>());
        Assert.Equal(36, whole["expected_days"]!.GetValue<int>());
        Assert.Equal(36, whole["stored_days"]!.GetValue<int>());
        Assert.Equal(0, whole["missing_days"]!.GetValue<int>());
        Assert.Empty(Days(whole["missing"]));
        Assert.False(whole["stale"]!.GetValue<bool>());
        Assert.Equal("day", whole["unit"]!.GetValue<string>());

        var holes = KeyOf(coverage, "600002");
        Assert.Equal(4, holes["missing_days"]!.GetValue<int>());
        Assert.Equal(["2024-05-20", "2024-05-21", "2024-05-22", "2024-06-05"], Days(holes["missing"]));
        Assert.Equal(["2024-05-20..2024-05-22", "2024-06-05..2024-06-05"], Ranges(holes["missing_ranges"]));
        Assert.False(holes["stale"]!.GetValue<bool>());

        // Listed on 05-27: the weeks before are not missing.
        var listed = KeyOf(coverage, "600003");
        Assert.Equal("2024-05-27", listed["first_date"]!.GetValue<string>());
        Assert.Equal(14, listed["expected_days"]!.GetValue<int>());
        Assert.Equal(0, listed["missing_days"]!.GetValue<int>());

        // Stopped after 06-07: its tail is missing, the Dragon Boat Festival (06-10) is not.
        var stale = KeyOf(coverage, "600004");
        Assert.True(stale["stale"]!.GetValue<bool>());
        Assert.Equal("2024-06-07", stale["last_date"]!.GetValue<string>());
        Assert.Equal(["2024-06-11", "2024-06-12", "2024-06-13", "2024-06-14"], Days(stale["missing"]));
        Assert.Equal(["2024-06-11..2024-06-14"], Ranges(stale["missing_ranges"]));

        var summary = coverage["summary"]!;
        Assert.Equal(4, summary["keys"]!.GetValue<long>());
        Assert.Equal(2, summary["complete"]!.GetValue<long>());
        Assert.Equal(2, summary["with_gaps"]!.GetValue<long>());
        Assert.Equal(1, summary["stale"]!.GetValue<long>());
        Assert.Equal(8, summary["missing_days"]!.GetValue<long>());
        Assert.Equal(0, summary["confirmed_empty_days"]!.GetValue<long>());
        Assert.Equal("2024-06-14", summary["through"]!.GetValue<string>());
    }

    [Fact]
    public async Task From_and_to_bound_what_is_expected()
    {
        var client = await FourSymbolsAsync();
        var june = await CoverageAsync(client, "?from=2024-06-01&to=2024-06-12&" + FourSymbols);
        Assert.Equal("2024-06-12", june["expected_through"]!.GetValue<string>());
        var listed = KeyOf(june, "600003");
        Assert.Equal(7, listed["expected_days"]!.GetValue<int>());
        Assert.Equal(0, listed["missing_days"]!.GetValue<int>());
        var stale = KeyOf(june, "600004");
        Assert.Equal(["2024-06-11", "2024-06-12"], Days(stale["missing"]));
        Assert.Equal(3, june["summary"]!["missing_days"]!.GetValue<long>());
        Assert.Equal(["2024-06-05"], Days(KeyOf(june, "600002")["missing"]));
    }

    [Fact]
    public async Task Status_and_filters_choose_the_keys_and_pages_follow_the_key_order()
    {
        var client = await FourSymbolsAsync();
        var gaps = await CoverageAsync(client, "?status=gaps&" + FourSymbols);
        Assert.Equal(["600002", "600004"], gaps["items"]!.AsArray().Select(i => i!["key"]!["股票代码"]!.GetValue<string>()).ToList());
        Assert.Equal(2, gaps["total"]!.GetValue<long>());
        // The summary is of every key the filters choose, whatever the status shows.
        Assert.Equal(4, gaps["summary"]!["keys"]!.GetValue<long>());

        var complete = await CoverageAsync(client, "?status=complete&" + FourSymbols);
        Assert.Equal(["600001", "600003"], complete["items"]!.AsArray().Select(i => i!["key"]!["股票代码"]!.GetValue<string>()).ToList());

        var second = await CoverageAsync(client, "?page=2&page_size=1&" + FourSymbols);
        Assert.Equal("600002", Assert.Single(second["items"]!.AsArray())!["key"]!["股票代码"]!.GetValue<string>());
        Assert.Equal(4, second["total_pages"]!.GetValue<int>());

        var one = await CoverageAsync(client, "?filter[股票代码]=600004");
        Assert.Equal("600004", Assert.Single(one["items"]!.AsArray())!["key"]!["股票代码"]!.GetValue<string>());
        Assert.Equal(1, one["summary"]!["stale"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("?filter[收盘][gt]=10", "filter[收盘]")]
    [InlineData("?filter[日期][gte]=2024-06-01", "filter[日期]")]
    [InlineData("?filter[nope]=1", "filter[nope]")]
    [InlineData("?status=missing", "status")]
    [InlineData("?from=2024-06-12&to=2024-06-01", "to")]
    [InlineData("?page_size=101", "page_size")]
    public async Task A_bad_question_is_a_422_naming_it(string query, string field)
    {
        var client = await FourSymbolsAsync();
        var error = await (await client.GetAsync($"/api/tables/{Table}/coverage{query}")).ExpectAsync(422, 3001);
        Assert.Contains(error["detail"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field);
    }

    [Fact]
    public async Task Weekly_rows_are_held_to_trading_weeks()
    {
        var (client, _, _) = await app.NewUserAsync();
        // Each week's bar carries its last trading day; the week of 05-20 never came.
        string[] weekly = ["2024-04-26", "2024-04-30", "2024-05-10", "2024-05-17", "2024-05-31", "2024-06-07", "2024-06-14"];
        await app.CollectAsync(client, "600011", weekly.Select(D), "weekly");
        await app.CollectAsync(client, "600011", Trading("2024-04-22", "2024-06-14"));

        var coverage = await CoverageAsync(client, "?filter[股票代码]=600011");
        var week = KeyOf(coverage, "600011", "weekly");
        Assert.Equal("week", week["unit"]!.GetValue<string>());
        Assert.Equal(8, week["expected_days"]!.GetValue<int>());
        Assert.Equal(7, week["stored_days"]!.GetValue<int>());
        Assert.Equal(["2024-05-24"], Days(week["missing"]));
        Assert.Equal(["2024-05-20..2024-05-24"], Ranges(week["missing_ranges"]));
        Assert.False(week["stale"]!.GetValue<bool>());
        var day = KeyOf(coverage, "600011", "daily");
        Assert.Equal(0, day["missing_days"]!.GetValue<int>());
        Assert.Equal(1, coverage["summary"]!["missing_days"]!.GetValue<long>());
    }

    [Fact]
    public async Task Monthly_rows_are_held_to_trading_months()
    {
        var (client, _, _) = await app.NewUserAsync();
        // Each month's bar carries its last trading day (June's, in progress, the last close); April's never came.
        string[] monthly = ["2024-01-31", "2024-02-29", "2024-03-29", "2024-05-31", "2024-06-14"];
        await app.CollectAsync(client, "600012", monthly.Select(D), "monthly");

        var month = KeyOf(await CoverageAsync(client, "?filter[股票代码]=600012"), "600012", "monthly");
        Assert.Equal("month", month["unit"]!.GetValue<string>());
        Assert.Equal(6, month["expected_days"]!.GetValue<int>());
        Assert.Equal(5, month["stored_days"]!.GetValue<int>());
        // April 2024 traded from 04-01 to 04-30 (Qingming's 04-04 and 04-05 closed, the Sunday make-up days not traded).
        Assert.Equal(["2024-04-30"], Days(month["missing"]));
        Assert.Equal(["2024-04-01..2024-04-30"], Ranges(month["missing_ranges"]));
        Assert.False(month["stale"]!.GetValue<bool>());
    }

    [Fact]
    public async Task At_most_100_dates_are_named_and_the_ranges_cover_every_missing_one()
    {
        var (client, _, _) = await app.NewUserAsync();
        // 107 trading days from 2024-01-02 to 2024-06-14 (the Spring Festival and Qingming closures left out); two stored.
        await app.CollectAsync(client, "600013", [D("2024-01-02"), D("2024-06-14")]);

        var key = KeyOf(await CoverageAsync(client, "?filter[股票代码]=600013"), "600013");
        Assert.Equal(107, key["expected_days"]!.GetValue<int>());
        Assert.Equal(2, key["stored_days"]!.GetValue<int>());
        Assert.Equal(105, key["missing_days"]!.GetValue<int>());
        var named = Days(key["missing"]);
        Assert.Equal(100, named.Count);
        Assert.Equal("2024-01-03", named[0]);
        Assert.Equal("2024-06-05", named[^1]);
        Assert.DoesNotContain("2024-02-09", named);
        // Consecutive trading days missing make one range, across the closures between them.
        Assert.Equal(["2024-01-03..2024-06-13"], Ranges(key["missing_ranges"]));
        Assert.False(key["stale"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_day_confirmed_empty_is_counted_apart_and_a_stored_row_outweighs_a_mark()
    {
        var (client, _, _) = await app.NewUserAsync();
        await app.CollectAsync(client, "600021", Trading("2024-05-27", "2024-06-14", "2024-06-05", "2024-06-06"));
        var marks = app.Services.GetRequiredService<ConfirmedEmptyDays>();
        var key = ConfirmedEmptyDays.KeyJson([new("股票代码", "600021"), new("period", "daily")]);
        await marks.ConfirmAsync(Table, key, [D("2024-06-05"), D("2024-06-03")], null, CancellationToken.None);

        var coverage = await CoverageAsync(client, "?filter[股票代码]=600021");
        var suspended = KeyOf(coverage, "600021");
        Assert.Equal(1, suspended["confirmed_empty_days"]!.GetValue<int>());
        Assert.Equal(["2024-06-05"], Days(suspended["confirmed_empty"]));
        Assert.Equal(1, suspended["missing_days"]!.GetValue<int>());
        Assert.Equal(["2024-06-06"], Days(suspended["missing"]));
        Assert.Equal(14, suspended["expected_days"]!.GetValue<int>());
        Assert.Equal(12, suspended["stored_days"]!.GetValue<int>());
        Assert.Equal(1, coverage["summary"]!["confirmed_empty_days"]!.GetValue<long>());
        Assert.Equal(1, coverage["summary"]!["missing_days"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_summary_shows_in_the_table_views()
    {
        var client = await FourSymbolsAsync();
        var detail = (await (await client.GetAsync($"/api/tables/{Table}")).ExpectAsync(200, 0))["data"]!;
        var coverage = detail["coverage"]!;
        Assert.Equal("2024-06-14", coverage["through"]!.GetValue<string>());
        Assert.True(coverage["keys"]!.GetValue<long>() >= 4);
        Assert.True(coverage["missing_days"]!.GetValue<long>() >= 8);

        var listed = await Tasks.TaskTestKit.EventuallyAsync(async () =>
            (await (await client.GetAsync("/api/tables/?page_size=100")).ExpectAsync(200, 0))["data"]!["items"]!.AsArray()
                .Single(t => t!["table_name"]!.GetValue<string>() == Table)!["coverage"], c => c is not null);
        Assert.Equal(coverage["missing_days"]!.GetValue<long>(), listed!["missing_days"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_table_without_a_date_in_its_key_is_a_422_that_says_why()
    {
        app.AkTools.Rows("macro_china_cpi", new Dictionary<string, object?> { ["月份"] = "2024年05月份", ["全国-当月"] = 100.3 });
        Assert.Equal("completed", (await app.DownloadAsync("macro_china_cpi"))["status"]!.GetValue<string>());
        var (client, _, _) = await app.NewUserAsync();
        var error = await (await client.GetAsync("/api/tables/ak_macro_china_cpi/coverage")).ExpectAsync(422, 3001);
        Assert.Contains("coverage needs a date column in the table's key", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("ak_macro_china_cpi has no key columns", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var detail = (await (await client.GetAsync("/api/tables/ak_macro_china_cpi")).ExpectAsync(200, 0))["data"]!;
        Assert.Null(detail["coverage"]);
        await (await client.GetAsync("/api/tables/ak_no_such_table/coverage")).ExpectAsync(404, 2001);
    }
}
