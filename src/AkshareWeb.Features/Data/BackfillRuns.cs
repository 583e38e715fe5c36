using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Parameters;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Tables;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Data;

/// <summary>What a backfill of a table works from: the coverage of its range (every key with gaps), the data script
/// that writes it, and how that script is asked for one key's days.</summary>
public sealed record BackfillAsking(CoverageReading Reading, DataScriptDefinition Script, BackfillScript Asking)
{
    public CoverageShape Shape => Reading.Shape;
}

/// <summary>
/// The machinery every backfill shares, whoever asks (POST /api/tables/{table}/backfill, or a task with "backfill":
/// true after each run, <see cref="TaskBackfill"/>): the coverage of the range, the script that writes the table,
/// the parts (one per key's missing ranges, close ones merged) and the parted run's plan. Refusals are 422s naming
/// why (no managed table is a 404); <see cref="CheckScriptAsync"/> says the same of a task's script before its table exists.
/// </summary>
public sealed class BackfillRuns(
    WarehouseTables registry, DataScriptLibrary library, CoverageReader coverage, BackfillMarks backfills, ParameterBinder binder, ValueSources sources,
    ManagedTables tables, WarehouseDatabase warehouse)
{
    /// <summary>Every key with gaps in the range and how the table's script asks for them: 404 for no managed table,
    /// 422 when its key has no date or its script cannot ask for one key's days. Marks of ended backfills are written first.</summary>
    public Task<BackfillAsking> AskAsync(string tableName, DateOnly? from, DateOnly? to, CancellationToken ct) => AskAsync(tableName, _ => (from, to), ct);

    /// <summary>The same, the range read from how the script is asked (a task's run gives it in the script's own date parameters).</summary>
    public async Task<BackfillAsking> AskAsync(string tableName, Func<BackfillScript, (DateOnly? From, DateOnly? To)> range, CancellationToken ct)
    {
        await backfills.SettleQuietlyAsync(tableName, ct);
        var shape = await CoverageShape.ResolveAsync(tables, registry, warehouse, tableName, ct);
        var script = await ScriptAsync(shape, ct);
        var asking = BackfillScript.Of(script.Id, script.Parameters, script.ExtraColumns, shape);
        var (from, to) = range(asking);
        var reading = await coverage.ReadAsync(tableName, new CoverageRequest(from, to, CoverageReader.Gaps, QueryCollection.Empty, new PageRequest(1, int.MaxValue)), ct);
        return new BackfillAsking(reading, script, asking);
    }

    /// <summary>The parts for these keys, in their order: each key's missing ranges, those a few trading days apart merged.</summary>
    public static List<BackfillPart> Parts(BackfillAsking asking, IEnumerable<KeyCoverage> keys)
    {
        var shape = asking.Shape;
        return keys.SelectMany(k => BackfillScript.Parts(k, CoverageFigures.KeyJson(shape, shape.KeyColumns.Select(c => k.Key[c.OriginalName]).ToArray()),
            asking.Reading.Calendar.Days)).ToList();
    }

    /// <summary>
    /// The parted run of the parts: the script's defaults with each part's key values and range over them. More parts
    /// than Parts:MaxParts is a 422 on <paramref name="field"/>. <paramref name="backfillOf"/> and <paramref name="taskId"/>
    /// link a task's backfill to its run; <paramref name="scheduleKey"/> makes it once per run.
    /// </summary>
    public ExecutionPlan Plan(BackfillAsking asking, IReadOnlyList<BackfillPart> parts, string triggeredBy, long? userId, string field,
        long? taskId = null, string? backfillOf = null, string? scheduleKey = null)
    {
        if (parts.Count > sources.MaxParts)
        {
            throw ApiError.Validation(field, $"the missing days make {parts.Count} parts; at most {sources.MaxParts} are allowed (Parts:MaxParts): name fewer keys or a shorter range");
        }

        var (script, shaped) = (asking.Script, asking.Asking);
        var values = parts.Select(shaped.Values).ToList();
        // The plan's own values are the script's defaults with the first part's: each part sets its own over them.
        var first = JsonSerializer.SerializeToElement(values[0].Where(v => v.Key != shaped.Start.Name && v.Key != shaped.End.Name)
            .ToDictionary(v => v.Key, v => Typed(script.Parameters.First(p => p.Name == v.Key), v.Value)));
        var bound = binder.Bind(script.Parameters, first, field, refuseUnsafe: false);
        var sourced = values[0].Keys.ToDictionary(k => k, _ => new ValueSource(), StringComparer.Ordinal);
        return new ExecutionPlan(script.Interface, bound, script.TargetTable, script.WriteMode, script.KeyColumns,
            ValueSources.ExtraColumns(binder, script.ExtraColumns, bound, sourced), triggeredBy, TaskId: taskId, UserId: userId, DisplayName: script.Name,
            Category: script.Category, ScriptId: script.Id, DatedColumns: script.DatedColumns, ScheduleKey: scheduleKey,
            Sources: new Dictionary<string, ValueSource>(StringComparer.Ordinal) { ["backfill"] = new ValueSource(Parts: values) }, BackfillOf: backfillOf);
    }

    /// <summary>Keeps what the run's parts ask until it has ended, for the confirmed-empty marks (<see cref="BackfillMarks"/>).</summary>
    public Task RecordAsync(string executionId, BackfillAsking asking, IReadOnlyList<BackfillPart> parts, CancellationToken ct) =>
        backfills.RecordAsync(executionId, asking.Shape.Name, parts, ct);

    /// <summary>
    /// A 422 on <c>backfill</c> when a task of this script could not backfill its range, for the reasons
    /// <see cref="AskAsync"/> would give: no date in the table's key, no start and end date parameters, a key column no
    /// parameter sets, or the trading calendar's own script (the calendar is what days are counted against). Judged on
    /// the table when it exists, else on the script alone (of its key columns that no parameter or constant sets, the date is
    /// the one its output columns type as a date or whose name says so, else the first).
    /// </summary>
    public async Task CheckScriptAsync(DataScriptDefinition script, CancellationToken ct)
    {
        try
        {
            if (script.Id == TradingCalendar.ScriptId)
            {
                throw ApiError.Validation("table_name", $"{script.TargetTable} is the trading calendar itself, which coverage counts every table's days against; " +
                    "no calendar applies to it, and its script always answers the whole history");
            }

            if (await ExistingShapeAsync(script.TargetTable, ct) is { } shape)
            {
                BackfillScript.Of(script.Id, script.Parameters, script.ExtraColumns, shape);
                return;
            }

            var keys = script.KeyColumns;
            var unset = keys.Where(k => BackfillScript.SettingParameter(k, script.Parameters, script.ExtraColumns) is null && !script.ExtraColumns.ContainsKey(k)).ToList();
            if (unset.Count == 0)
            {
                throw ApiError.Validation("table_name", keys.Count == 0
                    ? $"{script.TargetTable} has no key columns (its script's write mode is {script.WriteMode}), so nothing says which trading day a row is for"
                    : $"the key of {script.TargetTable} ({string.Join(", ", keys)}) has no date column, so nothing says which trading day a row is for");
            }

            var date = DateColumn(script, unset);
            BackfillScript.Of(script.Id, script.Parameters, script.ExtraColumns, script.TargetTable, keys.Where(k => k != date).ToList());
        }
        catch (ApiError e) when (e.Status == 422)
        {
            var why = e.Detail is IEnumerable<FieldError> errors ? string.Join("; ", errors.Select(f => f.Message)) : e.Message;
            throw ApiError.Validation("backfill", $"the data script {script.Id} cannot backfill its range: {why}");
        }
    }

    /// <summary>Which of the key columns no parameter sets holds the date, before a run has made the table and its types.</summary>
    private static string DateColumn(DataScriptDefinition script, IReadOnlyList<string> unset)
    {
        var typed = unset.FirstOrDefault(c => script.OutputColumns?.FirstOrDefault(o => o.Name == c)?.Type is { } type
            && (type.Contains("date", StringComparison.OrdinalIgnoreCase) || type.Contains("time", StringComparison.OrdinalIgnoreCase)));
        string[] words = ["日期", "时间", "date", "time", "day"];
        return typed ?? unset.FirstOrDefault(c => words.Any(w => c.Contains(w, StringComparison.OrdinalIgnoreCase))) ?? unset[0];
    }

    /// <summary>The table's coverage shape when it is a managed table already; null before its first run made it.</summary>
    private async Task<CoverageShape?> ExistingShapeAsync(string tableName, CancellationToken ct)
    {
        if (await registry.FindAsync(tableName, ct) is null) return null;
        try
        {
            return await CoverageShape.ResolveAsync(tables, registry, warehouse, tableName, ct);
        }
        catch (ApiError e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The active data script that writes the table, as its registration names it.</summary>
    private async Task<DataScriptDefinition> ScriptAsync(CoverageShape shape, CancellationToken ct)
    {
        var registered = await registry.FindAsync(shape.Name, ct) ?? throw ApiError.NotFound("table");
        if (registered.ScriptId is not { } scriptId || await library.FindAsync(scriptId, ct) is not { } found)
        {
            throw ApiError.Validation("table_name", $"no data script writes {shape.Name} (it was filled by a download of an interface), so there is no script to ask for the missing days");
        }

        if (!found.IsActive) throw ApiError.Validation("table_name", $"the data script {scriptId}, which writes {shape.Name}, is deactivated");
        return found.Script;
    }

    /// <summary>A parameter's value as JSON of its type, as a request would give it.</summary>
    private static object Typed(ParameterDefinition parameter, string value) => parameter.Type switch
    {
        "int" when long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) => number,
        "float" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) => number,
        "bool" when bool.TryParse(value, out var flag) => flag,
        _ => value,
    };
}
