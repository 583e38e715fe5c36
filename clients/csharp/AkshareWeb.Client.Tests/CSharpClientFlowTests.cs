using System.Net.Http.Headers;
using System.Text;

namespace AkshareWeb.Client.Tests;

/// <summary>The flow a new SDK user goes through, through the generated C# client only.</summary>
public sealed class CSharpClientFlowTests(ServiceOnLoopback service) : IClassFixture<ServiceOnLoopback>
{
    [Fact]
    public async Task Log_in_register_list_scripts_download_page_read_the_schema_and_export()
    {
        var (api, http) = service.NewClient();
        using var _ = http;

        var admin = await api.LoginAsync(new LoginRequest { Username = "admin", Password = ServiceOnLoopback.AdminPassword });
        Assert.Equal(0, admin.Code);
        Assert.Equal("Bearer", admin.Data.Token_type, ignoreCase: true);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin.Data.Access_token);
        Assert.Equal(Role.Admin, (await api.GetCurrentUserAsync()).Data.Role);

        var username = "cs_" + Guid.NewGuid().ToString("N")[..10];
        var registered = await api.RegisterAsync(new RegisterRequest
        {
            Username = username, Email = username + "@example.com", Password = "password-123", Password_confirm = "password-123",
        });
        // Enums travel as the service spells them, in a query (role=user) and in a body ("role": "user").
        var account = Assert.Single((await api.ListUsersAsync(username, email: null, role: Role.User, page: 1, page_size: 20)).Data.Items);
        var updated = (await api.UpdateUserAsync(account.Id, new UpdateUserRequest { Role = Role.User, Email = username + "@example.org" })).Data;
        Assert.Equal(Role.User, updated.Role);
        Assert.Equal(username + "@example.org", updated.Email);

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", registered.Data.Access_token);
        var me = (await api.GetCurrentUserAsync()).Data;
        Assert.Equal(username, me.Username);
        Assert.Equal(Role.User, me.Role);

        // Refresh rotates: the answer's refresh_token replaces the one sent. Sending the old one again is a 401 with the
        // error envelope, and ends the session (the new tokens too): the user logs in again.
        var renewed = await api.RefreshTokenAsync(new RefreshRequest { Refresh_token = registered.Data.Refresh_token });
        Assert.NotEqual(registered.Data.Refresh_token, renewed.Data.Refresh_token);
        var replay = await Assert.ThrowsAsync<AkshareWebException<ErrorEnvelope>>(() => api.RefreshTokenAsync(new RefreshRequest { Refresh_token = registered.Data.Refresh_token }));
        Assert.Equal(401, replay.StatusCode);
        Assert.Equal(ErrorCode.AuthenticationFailed, replay.Result.Code);
        var again = await api.LoginAsync(new LoginRequest { Username = username, Password = "password-123" });
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", again.Data.Access_token);

        var scripts = (await api.ListScriptsAsync(category: null, is_active: null, page: 1, page_size: 100)).Data;
        var script = Assert.Single(scripts.Items, s => s.Script_id == ServiceOnLoopback.Interface);
        Assert.Equal(WriteMode.Upsert, (await api.GetScriptAsync(script.Script_id)).Data.Write_mode);
        var target = Assert.Single((await api.ListInterfacesAsync(category: null, keyword: ServiceOnLoopback.Interface, page: 1, page_size: 20)).Data.Items,
            i => i.Name == ServiceOnLoopback.Interface);

        var started = (await api.DownloadDataAsync(new DownloadRequest
        {
            Interface_id = target.Id,
            Parameters = new Dictionary<string, object> { ["symbol"] = "600000" },
        })).Data;
        Assert.Equal(ExecutionStatus.Pending, started.Status);
        // Until the download has ended, however long a loaded machine takes (the first run of a cold process on a busy
        // machine was seen still pending after a minute): its end is what the flow reads next.
        // While it is long in coming, what the service's database says is written down each minute (a hang leaves its story).
        DownloadStatus status;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var noted = TimeSpan.FromMinutes(1);
        while (true)
        {
            status = (await api.GetDownloadStatusAsync(started.Execution_id)).Data;
            if (status.Status is ExecutionStatus.Completed or ExecutionStatus.Failed or ExecutionStatus.Cancelled or ExecutionStatus.Timeout) break;
            if (waited.Elapsed > noted)
            {
                noted += TimeSpan.FromMinutes(1);
                await ServiceOnLoopback.LogAsync($"C# flow: download {started.Execution_id} still {status.Status}:\n{await service.SnapshotAsync()}");
            }

            await Task.Delay(200);
        }

        Assert.True(status.Status == ExecutionStatus.Completed, status.Error_message);
        Assert.Equal(ServiceOnLoopback.BarsPerDownload, status.Rows_affected);
        var completed = (await api.ListExecutionsAsync(task_id: null, status: ExecutionStatus.Completed, page: 1, page_size: 20)).Data.Items;
        var run = Assert.Single(completed, e => e.Execution_id == started.Execution_id);
        Assert.Equal(TriggeredBy.Download, run.Triggered_by);

        Assert.Contains((await api.ListTablesAsync(category: null, page: 1, page_size: 100)).Data.Items, t => t.Table_name == started.Table_name);
        var rows = new List<IDictionary<string, object>>();
        for (var page = 1; ; page++)
        {
            var answer = (await api.GetTableDataAsync(started.Table_name, sort_by: "日期", sort_order: SortOrder.Desc, cursor: null, adjust: null, page: page, page_size: 2, filter: null)).Data;
            rows.AddRange(answer.Items);
            if (page >= answer.Total_pages)
            {
                Assert.Equal(answer.Total, rows.Count);
                break;
            }
        }

        Assert.Equal(ServiceOnLoopback.BarsPerDownload, rows.Count(r => r["股票代码"]?.ToString() == "600000"));
        Assert.Equal("2024-01-06", rows[0]["日期"]?.ToString()?[..10]);

        var schema = (await api.GetTableSchemaAsync(started.Table_name)).Data;
        Assert.Contains(schema.Columns, c => c.Original_name == "收盘");

        using var file = await api.ExportTableAsync(started.Table_name, ExportFormat.Csv, excel_safe: null, limit: null, sort_by: null, sort_order: null, adjust: null, filter: null);
        Assert.Equal(200, file.StatusCode);
        using var reader = new StreamReader(file.Stream, Encoding.UTF8);
        var lines = (await reader.ReadToEndAsync()).TrimEnd().Split('\n');
        Assert.Contains("收盘", lines[0], StringComparison.Ordinal);
        Assert.Equal(rows.Count, lines.Length - 1);

        // Filters: each entry of the dictionary is a query key of its own, filter[列] or filter[列][op].
        var recent = new Dictionary<string, string> { ["filter[股票代码]"] = "600000", ["filter[日期][gte]"] = "20240104" };
        var expected = rows.Count(r => r["股票代码"]?.ToString() == "600000" && string.CompareOrdinal(r["日期"]?.ToString(), "2024-01-04") >= 0);
        Assert.InRange(expected, 1, rows.Count - 1);
        var filtered = (await api.GetTableDataAsync(started.Table_name, sort_by: "日期", sort_order: SortOrder.Asc, cursor: null, adjust: null, page: 1, page_size: 100, filter: recent)).Data;
        Assert.Equal(expected, filtered.Total);
        Assert.All(filtered.Items, r => Assert.True(string.CompareOrdinal(r["日期"]?.ToString(), "2024-01-04") >= 0));
        using var filteredFile = await api.ExportTableAsync(started.Table_name, ExportFormat.Csv, excel_safe: false, limit: null, sort_by: null, sort_order: null, adjust: null, filter: recent);
        using var filteredReader = new StreamReader(filteredFile.Stream, Encoding.UTF8);
        Assert.Equal(expected + 1, (await filteredReader.ReadToEndAsync()).TrimEnd().Split('\n').Length);
    }
}
