using System.Net.Http.Headers;

namespace AkshareWeb.Client.Tests;

/// <summary>The README's C# example, compiled with the generated client so it cannot drift from it.</summary>
internal static class ReadmeExample
{
    public static async Task RunAsync(Uri baseAddress, string username, string password)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        var api = new AkshareWebClient(http);
        var tokens = (await api.LoginAsync(new LoginRequest { Username = username, Password = password })).Data;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Access_token);
        var filter = new Dictionary<string, string> { ["filter[股票代码]"] = "000001", ["filter[日期][gte]"] = "2024-01-01" };
        var page = (await api.GetTableDataAsync("ak_stock_zh_a_hist", sort_by: "日期", sort_order: SortOrder.Desc,
            cursor: null, adjust: null, page: 1, page_size: 20, filter: filter)).Data;
        foreach (var row in page.Items) Console.WriteLine($"{row["日期"]} {row["收盘"]}");
        using var csv = await api.ExportTableAsync("ak_stock_zh_a_hist", ExportFormat.Csv, excel_safe: false, limit: null,
            sort_by: null, sort_order: null, adjust: null, filter: filter);
        await using var file = File.Create("ak_stock_zh_a_hist.csv");
        await csv.Stream.CopyToAsync(file);
    }
}
