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
using AkshareWeb.Features.Tables;

namespace AkshareWeb.Features.Data;

/// <summary>
/// POST /api/tables/{table}/backfill: one parted run of the data script that writes the table, asking only for what
/// coverage finds missing. One part per missing range of each key (ranges a few trading days apart merged into one
/// call), with the key's own values for the script's key parameters (symbol, period, adjust) and the range as its
/// start and end dates. Days confirmed empty are not missing, so they are not asked again; the run's completed parts
/// leave marks on the days still missing after them (<see cref="BackfillMarks"/>). It runs as a download of the
/// script: the ad-hoc queue and the user's quota. Here and not under Tables because a run's plan is the engine's; the
/// planning is <see cref="BackfillRuns"/>', which a task's backfill after its runs shares.
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

    public sealed class Handler(BackfillRuns backfills, ExecutionStore executions, ExecutionDispatcher dispatcher, AdhocQuota quotas)
        : ICommandHandler<Command, Started>
    {
        public async ValueTask<Started> Handle(Command command, CancellationToken ct)
        {
            var request = command.Request;
            // Every key with gaps, all of its missing ranges: 404 for no managed table, 422 when its key has no date.
            var asking = await backfills.AskAsync(command.TableName, CalendarDates.Parse(request.From), CalendarDates.Parse(request.To), ct);
            var parts = BackfillRuns.Parts(asking, Chosen(asking.Shape, asking.Reading.Items, request.Keys));
            if (parts.Count == 0) return new Started(null, 0);
            var plan = backfills.Plan(asking, parts, "download", command.Caller.Id, "keys");

            string executionId;
            await using (await quotas.EnterAsync(command.Caller, scriptTest: false, ct))
            {
                executionId = (await executions.CreateAsync(plan, ct))!;
            }

            try
            {
                await backfills.RecordAsync(executionId, asking, parts, ct);
            }
            finally
            {
                // The run is made: it runs even if its marks could not be kept (its days then stay missing, and are asked again).
                dispatcher.DispatchAdhoc(executionId);
            }

            return new Started(executionId, parts.Count);
        }
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
