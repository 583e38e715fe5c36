using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>When a table was last checked whole, the table's last_updated_at it was checked at, and the market day.</summary>
public sealed record HealthCheckMark(DateTime CheckedAt, DateTime? TableUpdatedAt, DateOnly MarketDay);

/// <summary>
/// The findings of the checks (table_health_findings) and when each table was last checked whole
/// (table_health_checks), in the application database. A check replaces the findings of what it looked at, in one
/// transaction, so a reader sees the findings before it or after it, never half.
/// </summary>
public sealed class HealthStore(Database database, TimeProvider time)
{
    private const int RowsPerInsert = 500;

    public async Task<HealthCheckMark?> MarkAsync(string table, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(DateTime CheckedAt, DateTime? TableUpdatedAt, DateTime MarketDay)?>(new CommandDefinition(
            "SELECT checked_at, table_updated_at, market_day FROM table_health_checks WHERE table_name = @table", new { table }, cancellationToken: ct));
        return row is { } r ? new HealthCheckMark(r.CheckedAt, r.TableUpdatedAt, DateOnly.FromDateTime(r.MarketDay)) : null;
    }

    /// <summary>
    /// Replaces the findings of <paramref name="scope"/> with <paramref name="findings"/> (read as they come, written
    /// a few hundred at a time); with <paramref name="mark"/>, records it as the table's last whole check. Returns how
    /// many findings were written.
    /// </summary>
    public async Task<long> ReplaceAsync(string table, HealthScope scope, IAsyncEnumerable<(HealthFinding Finding, string KeyJson)> findings,
        HealthCheckMark? mark, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var args = new DynamicParameters(new { table });
        await connection.ExecuteAsync(new CommandDefinition($"DELETE FROM table_health_findings WHERE table_name = @table{Within(scope, args)}", args, transaction,
            commandTimeout: 0, cancellationToken: ct));
        var now = time.GetUtcNow().UtcDateTime;
        var batch = new List<(HealthFinding Finding, string KeyJson)>(RowsPerInsert);
        long written = 0;
        await foreach (var found in findings.WithCancellation(ct))
        {
            batch.Add(found);
            if (batch.Count < RowsPerInsert) continue;
            written += await InsertAsync(connection, transaction, table, batch, now, ct);
            batch.Clear();
        }

        written += await InsertAsync(connection, transaction, table, batch, now, ct);
        if (mark is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO table_health_checks (table_name, checked_at, table_updated_at, market_day) VALUES (@table, @CheckedAt, @TableUpdatedAt, @day)
                ON DUPLICATE KEY UPDATE checked_at = @CheckedAt, table_updated_at = @TableUpdatedAt, market_day = @day
                """, new { table, mark.CheckedAt, mark.TableUpdatedAt, day = mark.MarketDay.ToDateTime(TimeOnly.MinValue) }, transaction, cancellationToken: ct));
        }

        await transaction.CommitAsync(ct);
        return written;
    }

    /// <summary>After a check of a run's own rows: a whole check of the same market day holds for the table as the run left it.</summary>
    public async Task CarryMarkAsync(string table, DateTime? tableUpdatedAt, DateOnly marketDay, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE table_health_checks SET table_updated_at = @tableUpdatedAt WHERE table_name = @table AND market_day = @day",
            new { table, tableUpdatedAt, day = marketDay.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct));
    }

    /// <summary>Findings per rule of the table, within the days given.</summary>
    public async Task<Dictionary<string, long>> CountsAsync(string table, DateOnly? from, DateOnly? to, CancellationToken ct)
    {
        var args = new DynamicParameters(new { table });
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<(string Rule, long Count)>(new CommandDefinition(
            $"SELECT rule, COUNT(*) FROM table_health_findings WHERE table_name = @table{Within(new HealthScope(from, to, null), args)} GROUP BY rule", args, cancellationToken: ct));
        return rows.ToDictionary(r => r.Rule, r => r.Count, StringComparer.Ordinal);
    }

    /// <summary>Findings per table and rule, every table's.</summary>
    public async Task<IReadOnlyList<(string Table, string Rule, long Count)>> AllCountsAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<(string, string, long)>(new CommandDefinition(
            "SELECT table_name, rule, COUNT(*) FROM table_health_findings GROUP BY table_name, rule", cancellationToken: ct))).AsList();
    }

    /// <summary>A page of the table's findings within the days given (of one rule, when given), by key, day, rule and column.</summary>
    public async Task<(IReadOnlyList<HealthFinding> Items, long Total)> PageAsync(string table, DateOnly? from, DateOnly? to, string? rule, PageRequest paging, CancellationToken ct)
    {
        var args = new DynamicParameters(new { table, rule, limit = paging.PageSize, offset = paging.Offset });
        var where = $"table_name = @table{Within(new HealthScope(from, to, null), args)}{(rule is null ? "" : " AND rule = @rule")}";
        await using var connection = await database.OpenAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM table_health_findings WHERE {where}", args, cancellationToken: ct));
        var rows = await connection.QueryAsync<(string Key, string Date, string Rule, string? Column, string? Value, string? ComparedWith)>(new CommandDefinition($"""
            SELECT CAST(key_values AS CHAR), DATE_FORMAT(day, '%Y-%m-%d %H:%i:%s'), rule, column_name, value, compared_with FROM table_health_findings
            WHERE {where} ORDER BY CAST(key_values AS CHAR), day, rule, column_name LIMIT @limit OFFSET @offset
            """, args, cancellationToken: ct));
        var items = rows.Select(r => new HealthFinding(Key(r.Key), r.Date.EndsWith(" 00:00:00", StringComparison.Ordinal) ? r.Date[..10] : r.Date, r.Rule, r.Column, r.Value, r.ComparedWith)).ToList();
        return (items, total);
    }

    private static async Task<long> InsertAsync(MySqlConnection connection, MySqlTransaction transaction, string table,
        List<(HealthFinding Finding, string KeyJson)> batch, DateTime now, CancellationToken ct)
    {
        if (batch.Count == 0) return 0;
        var sql = new StringBuilder("INSERT INTO table_health_findings (table_name, key_hash, key_values, day, rule, column_name, value, compared_with, found_at) VALUES ");
        var args = new DynamicParameters(new { table, now });
        for (var i = 0; i < batch.Count; i++)
        {
            var (finding, keyJson) = batch[i];
            var at = i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "" : ", ").Append($"(@table, @h{at}, @k{at}, @d{at}, @r{at}, @c{at}, @v{at}, @w{at}, @now)");
            args.Add("h" + at, ConfirmedEmptyDays.KeyHash(keyJson));
            args.Add("k" + at, keyJson);
            args.Add("d" + at, DateTime.ParseExact(finding.Date, finding.Date.Length == 10 ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
            args.Add("r" + at, finding.Rule);
            args.Add("c" + at, finding.Column);
            args.Add("v" + at, Clip(finding.Value));
            args.Add("w" + at, Clip(finding.ComparedWith));
        }

        await connection.ExecuteAsync(new CommandDefinition(sql.ToString(), args, transaction, commandTimeout: 0, cancellationToken: ct));
        return batch.Count;
    }

    private static string? Clip(string? text) => text is { Length: > 64 } ? text[..64] : text;

    /// <summary>The scope's part of a WHERE on the findings (after the table's).</summary>
    private static string Within(HealthScope scope, DynamicParameters args)
    {
        var sql = new StringBuilder();
        if (scope.From is { } from)
        {
            sql.Append(" AND day >= @withinFrom");
            args.Add("withinFrom", from.ToDateTime(TimeOnly.MinValue));
        }

        if (scope.To is { } to)
        {
            sql.Append(" AND day < @withinAfter");
            args.Add("withinAfter", to.AddDays(1).ToDateTime(TimeOnly.MinValue));
        }

        if (scope.Keys is { } keys)
        {
            if (keys.Count == 0) return " AND FALSE";
            sql.Append(" AND (").Append(string.Join(" OR ", keys.Select((key, k) =>
            {
                var at = k.ToString(CultureInfo.InvariantCulture);
                args.Add("kh" + at, ConfirmedEmptyDays.KeyHash(key.Json));
                args.Add("kf" + at, key.From);
                return $"(key_hash = @kh{at} AND day >= @kf{at})";
            }))).Append(')');
        }

        return sql.ToString();
    }

    private static Dictionary<string, object?> Key(string json)
    {
        var key = new Dictionary<string, object?>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            key[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString(),
                JsonValueKind.Number when property.Value.TryGetInt64(out var whole) => whole,
                JsonValueKind.Number => property.Value.GetDouble(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => null,
            };
        }

        return key;
    }
}
