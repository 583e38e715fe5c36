using System.Globalization;
using AkshareWeb.Tests.Infrastructure;
using MiniExcelLibs;

namespace AkshareWeb.Tests.Tables;

/// <summary>
/// Exports of text fetched from the internet: a cell that a spreadsheet would take for a formula is written as
/// text (a leading apostrophe); numbers stay numbers.
/// </summary>
public sealed class ExportTableTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    private static readonly string[] Hostile = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"];

    private async Task<HttpClient> CollectedAsync()
    {
        app.AkTools.Rows("macro_china_cpi", Hostile.Select((text, i) => (object)new Dictionary<string, object>
        {
            ["月份"] = text, ["全国-当月"] = -1.5 - i, ["=列"] = "plain " + i,
        }).ToArray());
        var (client, _, _) = await app.NewUserAsync();
        var run = await app.DownloadAsync("macro_china_cpi", client: client);
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        return client;
    }

    [Fact]
    public async Task Csv_cells_that_would_be_formulas_are_text_and_numbers_stay_numbers()
    {
        var client = await CollectedAsync();
        var response = await client.GetAsync("/api/tables/ak_macro_china_cpi/export?format=csv&sort_by=id");
        Assert.Equal(200, (int)response.StatusCode);
        var text = (await response.Content.ReadAsStringAsync()).TrimStart('\uFEFF');
        using var reader = new StringReader(text);
        var header = reader.ReadLine()!;
        Assert.Contains("'=列", header, StringComparison.Ordinal);

        Assert.Contains("'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")", text, StringComparison.Ordinal);
        Assert.Contains("'+1+1", text, StringComparison.Ordinal);
        Assert.Contains("'-2+3", text, StringComparison.Ordinal);
        Assert.Contains("'@SUM(A1)", text, StringComparison.Ordinal);
        Assert.Contains("'\tTAB", text, StringComparison.Ordinal);
        Assert.Contains("\"'\rCR\"", text, StringComparison.Ordinal);
        // A negative number is a number: no apostrophe.
        Assert.Contains(",-1.5,", text, StringComparison.Ordinal);
        Assert.DoesNotContain("'-1.5", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Excel_cells_that_would_be_formulas_are_text_and_numbers_stay_numbers()
    {
        var client = await CollectedAsync();
        var response = await client.GetAsync("/api/tables/ak_macro_china_cpi/export?format=excel&sort_by=id");
        Assert.Equal(200, (int)response.StatusCode);
        await using var stream = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
        var rows = stream.Query(useHeaderRow: true).Cast<IDictionary<string, object>>().ToList();
        Assert.Equal(Hostile.Length, rows.Count);
        for (var i = 0; i < Hostile.Length; i++)
        {
            // XML turns a carriage return into a line feed when the file is read; the apostrophe is what matters.
            Assert.Equal(("'" + Hostile[i]).Replace('\r', '\n'), Convert.ToString(rows[i]["月份"], CultureInfo.InvariantCulture)!.Replace('\r', '\n'));
            Assert.Equal(-1.5 - i, Convert.ToDouble(rows[i]["全国-当月"], CultureInfo.InvariantCulture));
            Assert.Equal("plain " + i, Convert.ToString(rows[i]["'=列"], CultureInfo.InvariantCulture));
        }
    }
}
