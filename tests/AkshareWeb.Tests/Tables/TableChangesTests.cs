using System.Text.Json.Nodes;
using AkshareWeb.Tests.Auth;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Tables;

/// <summary>Rows written into a managed table by other means than the engine (last_updated_at untouched).</summary>
public sealed class TableChangesTests(FakeClockApp app) : IClassFixture<FakeClockApp>
{
    [Fact]
    public async Task Rows_written_behind_the_services_back_show_in_the_total_once_a_minute_has_passed()
    {
        var (client, _, _) = await app.NewUserAsync();
        await using var db = await app.OpenDatabaseAsync();
        await db.ExecuteAsync("""
            CREATE TABLE ak_by_hand_changes (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `日期` DATE NULL COMMENT '日期',
              `股票代码` VARCHAR(16) NULL COMMENT '股票代码', _execution_id VARCHAR(40) NOT NULL, _collected_at DATETIME(6) NOT NULL,
              _row_hash BINARY(16) NOT NULL, UNIQUE KEY ux_natural_key (`股票代码`, `日期`), KEY ix_key_1 (`日期`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
            INSERT INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at)
            VALUES ('ak_by_hand_changes', '手工', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            """);
        await AddAsync(db, 0, 50);
        Assert.Equal(50, await TotalAsync(client));

        await AddAsync(db, 50, 40);
        Assert.Equal(50, await TotalAsync(client));

        // A minute on, a request has the table counted again in the background; the requests after it see the rows.
        app.Clock!.Advance(TimeSpan.FromSeconds(61));
        var total = await TotalAsync(client);
        for (var waited = 0; waited < 50 && total != 90; waited++)
        {
            await Task.Delay(100);
            total = await TotalAsync(client);
        }

        Assert.Equal(90, total);
        var last = (await (await client.GetAsync("/api/tables/ak_by_hand_changes/data?page_size=10&page=9")).ExpectAsync(200, 0))["data"]!;
        Assert.Equal(
            await db.QueryAsync<long>("SELECT id FROM ak_by_hand_changes ORDER BY id LIMIT 10 OFFSET 80"),
            last["items"]!.AsArray().Select(r => r!["id"]!.GetValue<long>()));
    }

    private static async Task<long> TotalAsync(HttpClient client) =>
        (await (await client.GetAsync("/api/tables/ak_by_hand_changes/data?page_size=5")).ExpectAsync(200, 0))["data"]!["total"]!.GetValue<long>();

    private static Task AddAsync(MySqlConnector.MySqlConnection db, int from, int count) =>
        db.ExecuteAsync("""
            INSERT INTO ak_by_hand_changes (`日期`, `股票代码`, _execution_id, _collected_at, _row_hash)
            SELECT DATE('2024-01-01') + INTERVAL seq DAY, '000001', 'exec_by_hand', UTC_TIMESTAMP(6), UNHEX(MD5(seq))
            FROM seq_0_to_999 WHERE seq >= @from AND seq < @to
            """, new { from, to = from + count });
}
