using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Parameters;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Tables;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Data;

/// <summary>
/// POST /api/tables/{table}/backfill: one parted run of the data script that writes the table, asking only for what
/// coverage finds missing. One part per missing range of each key (ranges a few trading days apart merged into one
/// call), with the key's own values for the script's key parameters (symbol, period, adjust) and the range as its
/// start and end dates. Days confirmed empty are not missing, so they are not asked again; the run's completed parts
/// leave marks on the days still missing after them (<see cref="BackfillMarks"/>). It runs as a download of the
/// script: the ad-hoc queue and the user's quota. Here and not under Tables because a run's plan is the engine's.
/// </summary>
public static class BackfillTable
{
    /// <summary>The most keys one request may name.</summary>
    public const int MaxKeys = 1000;

    /// <summary>All optional: <c>from</c>, <c>to</c> (YYYY-MM-DD) bound the days, as in coverage; <c>keys</c> names some
    /// keys by some of their key columns (<c>{"股票代码": "000001"}</c>), every key with gaps when absent.</summary>
    public sealed record Body(string? From = null, string? To = null, IReadOnlyList<Dictionary<string, JsonElement>>? Keys = null);

    public sealed record Command(string TableName, Body Request) : ICommand<Started>
    {
        internal Caller Caller { get; init; }
    }

    /// <summary>The run and its parts; no run (null, 0) when nothing is missing.</summary>
    public sealed record Started(string? ExecutionId, int PartsTotal);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            this.RuleForRange(c => c.Request.From, c => c.Request.To);
            RuleFor(c => c.Request.Keys).Must(k => k is null || k.Count <= MaxKeys).WithMessage($"at most {MaxKeys} keys may be named at once").OverridePropertyName("keys");
            RuleFor(c => c.Request.Keys).Must(k => k is null || k.All(key => key.Count > 0 && key.Values.All(IsScalar)))
                .WithMessage("each key is an object of key columns and their values, e.g. {\"股票代码\": \"000001\"}").OverridePropertyName("keys");
        }

        private static bool IsScalar(JsonElement value) =>
            value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null;
    }

    public sealed class Handler(
        WarehouseTables registry, DataScriptLibrary library, CoverageReader coverage, BackfillMarks backfills, ParameterBinder binder, ValueSources sources,
        ExecutionStore executions, ExecutionDispatcher dispatcher, AdhocQuota quotas)
        : ICommandHandler<Command, Started>
    {
        public async ValueTask<Started> Handle(Command command, CancellationToken ct)
        {
            var request = command.Request;
            await backfills.SettleQuietlyAsync(command.TableName, ct);
            // Every key with gaps, all of its missing ranges: 404 for no managed table, 422 when its key has no date.
            var reading = await coverage.ReadAsync(command.TableName, new CoverageRequest(CalendarDates.Parse(request.From), CalendarDates.Parse(request.To),
                CoverageReader.Gaps, QueryCollection.Empty, new PageRequest(1, int.MaxValue)), ct);
            var shape = reading.Shape;
            var script = await ScriptAsync(shape, ct);
            var asking = BackfillScript.Of(script.Id, script.Parameters, script.ExtraColumns, shape);

            var chosen = Chosen(shape, reading.Items, request.Keys);
            var parts = chosen
                .SelectMany(k => BackfillScript.Parts(k, CoverageFigures.KeyJson(shape, shape.KeyColumns.Select(c => k.Key[c.OriginalName]).ToArray()), reading.Calendar.Days))
                .ToList();
            if (parts.Count == 0) return new Started(null, 0);
            if (parts.Count > sources.MaxParts)
            {
                throw ApiError.Validation("keys", $"the missing days make {parts.Count} parts; at most {sources.MaxParts} are allowed (Parts:MaxParts): name fewer keys or a shorter range");
            }

            var values = parts.Select(asking.Values).ToList();
            // The plan's own values are the script's defaults with the first part's: each part sets its own over them.
            var first = JsonSerializer.SerializeToElement(values[0].Where(v => v.Key != asking.Start.Name && v.Key != asking.End.Name)
                .ToDictionary(v => v.Key, v => Typed(script.Parameters.First(p => p.Name == v.Key), v.Value)));
            var bound = binder.Bind(script.Parameters, first, "keys", refuseUnsafe: false);
            var sourced = values[0].Keys.ToDictionary(k => k, _ => new ValueSource(), StringComparer.Ordinal);
            var plan = new ExecutionPlan(script.Interface, bound, script.TargetTable, script.WriteMode, script.KeyColumns,
                ValueSources.ExtraColumns(binder, script.ExtraColumns, bound, sourced), "download", UserId: command.Caller.Id, DisplayName: script.Name,
                Category: script.Category, ScriptId: script.Id, DatedColumns: script.DatedColumns,
                Sources: new Dictionary<string, ValueSource>(StringComparer.Ordinal) { ["backfill"] = new ValueSource(Parts: values) });

            string executionId;
            await using (await quotas.EnterAsync(command.Caller, scriptTest: false, ct))
            {
                executionId = (await executions.CreateAsync(plan, ct))!;
            }

            try
            {
                await backfills.RecordAsync(executionId, shape.Name, parts, ct);
            }
            finally
            {
                // The run is made: it runs even if its marks could not be kept (its days then stay missing, and are asked again).
                dispatcher.DispatchAdhoc(executionId);
            }

            return new Started(executionId, parts.Count);
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

    /// <summary>The keys with gaps the request names (all when it names none): a named key chooses every key whose
    /// columns it gives hold its values. A column that is no key column, or the date, is a 422 naming it.</summary>
    private static IEnumerable<KeyCoverage> Chosen(CoverageShape shape, IReadOnlyList<KeyCoverage> gaps, IReadOnlyList<Dictionary<string, JsonElement>>? keys)
    {
        if (keys is null || keys.Count == 0) return gaps;
        var columns = shape.KeyColumns.Select(c => c.OriginalName).ToHashSet(StringComparer.Ordinal);
        var problems = new List<FieldError>();
        for (var i = 0; i < keys.Count; i++)
        {
            foreach (var name in keys[i].Keys.Where(n => !columns.Contains(n)))
            {
                problems.Add(new FieldError($"keys[{i}].{name}", name == shape.DateColumn.OriginalName
                    ? $"{name} is the date: give the range as from and to"
                    : $"not a key column of {shape.Name}; its key columns: {string.Join(", ", columns)}"));
            }
        }

        if (problems.Count > 0) throw new ApiError(422, ErrorCodes.ValidationFailed, "invalid keys", problems);
        return gaps.Where(g => keys.Any(key => key.All(c => Equals(Text(c.Value), Convert.ToString(g.Key[c.Key], CultureInfo.InvariantCulture)))));
    }

    private static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };

    internal static async Task<Ok<Envelope<Started>>> Endpoint(string tableName, Body? body, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Started>.Success(await mediator.Send(new Command(tableName, body ?? new Body()) { Caller = Caller.Of(user) }, ct)));
}
