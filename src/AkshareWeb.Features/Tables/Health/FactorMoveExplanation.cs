using System.Globalization;
using System.Text.Json;
using Dapper;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// A large move of unadjusted bars on a day their adjustment factor steps is explained: that is an ex-dividend day,
/// where the raw price drops by the dividend and the split while the adjusted one does not. The days are the rows of
/// the factor tables the table's script declares (its <c>adjustment</c>), matched to the bars by the adjustment's key
/// columns; a factor table not collected yet explains nothing.
/// </summary>
public sealed class FactorMoveExplanation(WarehouseTables registry, DataScriptLibrary scripts, ManagedTables tables, WarehouseDatabase warehouse) : IMoveExplanation
{
    private static readonly Func<string, DateOnly, bool> Nothing = (_, _) => false;

    public async Task<Func<string, DateOnly, bool>> ExplainedAsync(string table, HealthScope scope, CancellationToken ct)
    {
        var registered = await registry.FindAsync(table, ct);
        var script = registered?.ScriptId is { } id && await scripts.FindAsync(id, ct) is { } found ? found.Script
            : registered?.InterfaceName is { } function ? await scripts.FindFillingAsync(table, function, ct) : null;
        if (script?.Adjustment is not { } adjustment) return Nothing;

        var steps = new HashSet<(string Key, DateOnly Day)>();
        foreach (var series in new[] { adjustment.Qfq, adjustment.Hfq }.OfType<FactorSeries>())
        {
            ManagedTable factors;
            try
            {
                factors = await tables.ResolveAsync(series.Table, ct);
            }
            catch (ApiError e) when (e.Status == 404)
            {
                continue;
            }

            var keyColumns = (series.KeyColumns ?? adjustment.KeyColumns).Select(n => Column(factors, n)).ToList();
            var dateColumn = Column(factors, series.DateColumn ?? adjustment.DateColumn);
            if (dateColumn is null || keyColumns.Any(c => c is null)) continue;
            var select = keyColumns.Select(c => ColumnNames.Quote(c!.Name)).Append(ColumnNames.Quote(dateColumn.Name));
            await using var connection = await warehouse.OpenAsync(ct);
            await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
                $"SELECT {string.Join(", ", select)} FROM {ColumnNames.Quote(factors.Name)}", cancellationToken: ct));
            var n = keyColumns.Count;
            while (await reader.ReadAsync(ct))
            {
                if (reader.IsDBNull(n) || reader.GetValue(n) is not DateTime day) continue;
                var values = Enumerable.Range(0, n).Select(i => reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture) ?? "");
                steps.Add((string.Join('\u001f', values), DateOnly.FromDateTime(day)));
            }
        }

        if (steps.Count == 0) return Nothing;
        var names = adjustment.KeyColumns;
        return (keyJson, day) =>
        {
            // Asked for the rows that moved too far only: a handful per check.
            using var document = JsonDocument.Parse(keyJson);
            var values = names.Select(name => document.RootElement.TryGetProperty(name, out var value)
                ? value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : value.ValueKind == JsonValueKind.Null ? "" : value.GetRawText()
                : "");
            return steps.Contains((string.Join('\u001f', values), day));
        };
    }

    private static TableColumn? Column(ManagedTable table, string name) =>
        table.Columns.FirstOrDefault(c => c.OriginalName == name) ?? table.Columns.FirstOrDefault(c => c.Name == name);
}
