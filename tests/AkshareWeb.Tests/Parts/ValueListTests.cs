using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Parts;

/// <summary>
/// A list of values is checked item by item, but a body of many bad values must not become an answer (and a
/// list in memory) many times its own size: a list longer than Parts:MaxParts (20,000 by default) is refused
/// whole, and at most 20 problems are answered, with a count of the rest.
/// </summary>
public sealed class ValueListTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private async Task<(HttpResponseMessage Answer, string Text)> TestScriptAsync(IEnumerable<string> symbols)
    {
        var (client, _, _) = await app.NewUserAsync();
        var answer = await client.PostAsJsonAsync("/api/scripts/stock_zh_a_hist/test", new { parameters = new { symbol = new { values = symbols } } });
        return (answer, await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Many_bad_values_answer_the_first_20_problems_and_a_count_of_the_rest()
    {
        // 15,000 values with a quote (AKTools would run them as Python): within the part cap, every one refused.
        var (answer, text) = await TestScriptAsync(Enumerable.Range(0, 15_000).Select(i => $"{i:D6}'"));

        var body = await answer.ExpectAsync(422, 3001);
        Assert.True(text.Length < 8_000, $"a {text.Length}-character answer to 15,000 bad values");
        var detail = body["detail"]!.AsArray();
        Assert.Equal(21, detail.Count);
        Assert.Equal("parameters.symbol[0]", detail[0]!["field"]!.GetValue<string>());
        Assert.Equal("parameters.symbol[19]", detail[19]!["field"]!.GetValue<string>());
        Assert.Equal("parameters", detail[20]!["field"]!.GetValue<string>());
        Assert.Equal("14980 more problems are not listed (only the first 20 are)", detail[20]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_list_longer_than_the_part_cap_is_refused_before_its_values_are_checked()
    {
        // About 1 MB of bad values: one problem, naming the list's length and the cap.
        var (answer, text) = await TestScriptAsync(Enumerable.Range(0, 150_000).Select(i => $"{i:D6}'"));

        var body = await answer.ExpectAsync(422, 3001);
        Assert.True(text.Length < 1_000, $"a {text.Length}-character answer to 150,000 values");
        var problem = Assert.Single(body["detail"]!.AsArray())!;
        Assert.Equal("parameters.symbol.values", problem["field"]!.GetValue<string>());
        Assert.Equal("has 150000 values; at most 20000 are allowed (Parts:MaxParts)", problem["message"]!.GetValue<string>());
    }
}
