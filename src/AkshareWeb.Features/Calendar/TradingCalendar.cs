using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Calendar;

/// <summary>The calendar in force: its days, where they come from, and when a run last replaced them (null for the
/// bundled snapshot).</summary>
public sealed record CalendarView(TradingDays Days, string Source, DateTime? UpdatedAt);

/// <summary>
/// The A-share trading calendar (SSE and SZSE share it). It is the table the tool_trade_date_hist_sina data script
/// replaces whole at each run (<see cref="Table"/>, AKShare's answer from Sina) once one run has filled it in the
/// warehouse; until then, or when that table holds no trading day, the bundled snapshot
/// (<see cref="CalendarSnapshot"/>). A run whose answer is broken never gets that far (<see cref="CalendarAnswerCheck"/>).
/// Read from memory: the table's registration is looked at again after <see cref="RecheckAfter"/>, the days
/// re-read when the registration moved or after <see cref="RereadAfter"/> (rows changed by hand); this instance's
/// own runs drop what it holds at once.
/// </summary>
public sealed class TradingCalendar : IDisposable
{
    public const string Table = "ak_tool_trade_date_hist_sina";
    public const string Column = "trade_date";
    public const string ScriptId = "tool_trade_date_hist_sina";
    public const string SinaSource = "akshare:tool_trade_date_hist_sina";

    public static readonly TimeSpan RecheckAfter = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan RereadAfter = TimeSpan.FromSeconds(60);

    private readonly WarehouseTables registry;
    private readonly WarehouseDatabase warehouse;
    private readonly TimeProvider time;
    private readonly ILogger<TradingCalendar> logger;
    private readonly SemaphoreSlim gate = new(1, 1);
    private volatile Held? held;

    private sealed record Held(string Warehouse, DateTime? Stamp, CalendarView View, long ReadAt, long CheckedAt);

    public TradingCalendar(WarehouseTables registry, WarehouseDatabase warehouse, TableChanges writes, TimeProvider time, ILogger<TradingCalendar> logger)
    {
        (this.registry, this.warehouse, this.time, this.logger) = (registry, warehouse, time, logger);
        writes.ShapeChanged += table =>
        {
            if (table == Table) held = null;
        };
    }

    public void Dispose() => gate.Dispose();

    public async Task<CalendarView> CurrentAsync(CancellationToken ct)
    {
        var known = held;
        if (known is not null && known.Warehouse == warehouse.ConnectionString && time.GetElapsedTime(known.CheckedAt) < RecheckAfter) return known.View;
        await gate.WaitAsync(ct);
        try
        {
            known = held;
            if (known is not null && known.Warehouse == warehouse.ConnectionString && time.GetElapsedTime(known.CheckedAt) < RecheckAfter) return known.View;
            var checkedAt = time.GetTimestamp();
            var (registered, stamp) = await RegistrationAsync(ct);
            if (known is not null && known.Warehouse == warehouse.ConnectionString && known.Stamp == stamp && time.GetElapsedTime(known.ReadAt) < RereadAfter)
            {
                held = known with { CheckedAt = checkedAt };
                return known.View;
            }

            var view = registered ? await FromTableAsync(stamp, ct) : null;
            view ??= new CalendarView(CalendarSnapshot.Days, CalendarSnapshot.Source, null);
            held = new Held(warehouse.ConnectionString, stamp, view, checkedAt, checkedAt);
            return view;
        }
        finally
        {
            gate.Release();
        }
    }

    private Task<(bool Registered, DateTime? LastUpdatedAt)> RegistrationAsync(CancellationToken ct) => registry.LastUpdatedAsync(Table, ct);

    private async Task<CalendarView?> FromTableAsync(DateTime? stamp, CancellationToken ct)
    {
        await using var connection = await warehouse.OpenAsync(ct);
        var days = await ReadDaysAsync(connection, Table, ct);
        if (days.Count > 0) return new CalendarView(new TradingDays(days), SinaSource, stamp);
        logger.LogWarning("{Table} holds no trading day in a column {Column}; the bundled calendar ({Source}) is used", Table, Column, CalendarSnapshot.Source);
        return null;
    }

    /// <summary>
    /// The days in <paramref name="table"/>'s <see cref="Column"/>, stored as a date or as text beginning with one;
    /// none when the table or column is missing. Shared with the check of a run's answer, which reads its own table.
    /// </summary>
    public static async Task<List<DateOnly>> ReadDaysAsync(MySqlConnection connection, string table, CancellationToken ct)
    {
        var hasColumn = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND COLUMN_NAME = @Column",
            new { table, Column }, cancellationToken: ct)) > 0;
        if (!hasColumn) return [];
        var days = new List<DateOnly>(9_000);
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
            $"SELECT {ColumnNames.Quote(Column)} FROM {ColumnNames.Quote(table)}", cancellationToken: ct));
        while (await reader.ReadAsync(ct))
        {
            if (reader.IsDBNull(0)) continue;
            switch (reader.GetValue(0))
            {
                case DateTime moment:
                    days.Add(DateOnly.FromDateTime(moment));
                    break;
                case DateOnly day:
                    days.Add(day);
                    break;
                case string text when text.Length >= 10 && DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed):
                    days.Add(parsed);
                    break;
            }
        }

        return days;
    }
}
