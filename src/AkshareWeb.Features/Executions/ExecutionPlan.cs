using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// Everything a run needs, fixed when the execution is created: the run repeats exactly what was asked even if
/// the script or the catalogue changes later, and a retry repeats it again. <c>BackfillOf</c>: the task's run whose
/// range this backfill run fills (triggered_by 'backfill'); a retry keeps it, so neither ever starts a backfill itself.
/// </summary>
public sealed record ExecutionPlan(
    string InterfaceName,
    IReadOnlyDictionary<string, string> Parameters,
    string TargetTable,
    string WriteMode,
    IReadOnlyList<string> KeyColumns,
    IReadOnlyDictionary<string, string> ExtraColumns,
    string TriggeredBy,
    long? TaskId = null,
    string? ScriptId = null,
    long? UserId = null,
    string? DisplayName = null,
    string? Category = null,
    string? ScheduleKey = null,
    DatedColumns? DatedColumns = null,
    IReadOnlyDictionary<string, ValueSource>? Sources = null,
    int? Concurrency = null,
    string? BackfillOf = null)
{
    /// <summary>A run over parameter sources is made of parts; one without stays a single call, as ever.</summary>
    public bool IsParted => Sources is { Count: > 0 };

    /// <summary>What the engine needs of the plan to write: the table, the mode, the key and the new table's comment.</summary>
    public TableDestination Destination => new(TargetTable, WriteMode, KeyColumns, DisplayName ?? InterfaceName);

    /// <summary>What the run tells the catalogue of managed tables about its table.</summary>
    public TableRegistration Registration => new(TargetTable, DisplayName, Category, ScriptId, InterfaceName, WriteMode, KeyColumns);
}
