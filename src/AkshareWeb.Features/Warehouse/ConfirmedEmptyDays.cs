using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Warehouse;

/// <summary>One key's day known to have no row: the key's hash (<see cref="ConfirmedEmptyDays.KeyHash"/>) and the day.</summary>
public readonly record struct ConfirmedEmptyDay(byte[] KeyHash, DateOnly Day);

/// <summary>
/// The days a key of a warehouse table is known to have no row although the calendar expects one
/// (table confirmed_empty_days): the upstream, asked for exactly those days, answered nothing. Coverage reads them
/// and counts them apart from the missing days; whoever learns of such a day (a backfill part whose answer was
/// empty) writes it. A key is named by its key columns but the date, as JSON in key order (<see cref="KeyJson"/>),
/// so the writer and the reader name it alike.
/// </summary>
public sealed class ConfirmedEmptyDays(Database database, TimeProvider time)
{
    /// <summary>
    /// The key as one JSON object, its columns (AKShare's names) in key order: text as text, numbers as numbers,
    /// dates as YYYY-MM-DD, times as YYYY-MM-DD HH:mm:ss, null as null. The same values always give the same text.
    /// </summary>
    public static string KeyJson(IReadOnlyList<KeyValuePair<string, object?>> key)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            foreach (var (column, value) in key)
            {
                json.WritePropertyName(column);
                switch (value)
                {
                    case null or DBNull:
                        json.WriteNullValue();
                        break;
                    case string text:
                        json.WriteStringValue(text);
                        break;
                    case bool flag:
                        json.WriteBooleanValue(flag);
                        break;
                    case DateOnly day:
                        json.WriteStringValue(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                        break;
                    case DateTime moment:
                        json.WriteStringValue(moment.TimeOfDay == TimeSpan.Zero
                            ? moment.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                            : moment.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
                        break;
                    case long or int or short or sbyte or byte or ushort or uint or ulong:
                        json.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                        break;
                    case decimal number:
                        json.WriteNumberValue(number);
                        break;
                    case double number:
                        json.WriteNumberValue(number);
                        break;
                    default:
                        json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The first 16 bytes of the SHA-256 of <see cref="KeyJson"/>'s text: the key's part of the primary key.</summary>
    public static byte[] KeyHash(string keyJson) => SHA256.HashData(Encoding.UTF8.GetBytes(keyJson))[..16];

    /// <summary>The marks of <paramref name="table"/> from <paramref name="from"/> to <paramref name="to"/>, both included.</summary>
    public async Task<IReadOnlyList<ConfirmedEmptyDay>> ReadAsync(string table, DateOnly from, DateOnly to, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<(byte[] Hash, DateTime Day)>(new CommandDefinition("""
            SELECT key_hash, trade_date FROM confirmed_empty_days
            WHERE table_name = @table AND trade_date >= @from AND trade_date <= @to
            """, new { table, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct));
        return rows.Select(r => new ConfirmedEmptyDay(r.Hash, DateOnly.FromDateTime(r.Day))).ToList();
    }

    /// <summary>Takes off marks a stored row outweighs: the day has its row now, so it is no longer known to be empty.</summary>
    public async Task RemoveAsync(string table, IReadOnlyList<ConfirmedEmptyDay> marks, CancellationToken ct)
    {
        if (marks.Count == 0) return;
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM confirmed_empty_days WHERE table_name = @table AND key_hash = @hash AND trade_date = @day",
            marks.Select(m => new { table, hash = m.KeyHash, day = m.Day.ToDateTime(TimeOnly.MinValue) }).ToList(), cancellationToken: ct));
    }

    /// <summary>Marks <paramref name="days"/> of the key as known to have no row (again: the mark is kept, its time moved).</summary>
    public async Task ConfirmAsync(string table, string keyJson, IEnumerable<DateOnly> days, string? executionId, CancellationToken ct)
    {
        var hash = KeyHash(keyJson);
        var now = time.GetUtcNow().UtcDateTime;
        var rows = days.Distinct().Select(day => new { table, hash, day = day.ToDateTime(TimeOnly.MinValue), keyJson, executionId, now }).ToList();
        if (rows.Count == 0) return;
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO confirmed_empty_days (table_name, key_hash, trade_date, key_values, execution_id, confirmed_at)
            VALUES (@table, @hash, @day, @keyJson, @executionId, @now)
            ON DUPLICATE KEY UPDATE execution_id = @executionId, confirmed_at = @now
            """, rows, cancellationToken: ct));
    }
}
