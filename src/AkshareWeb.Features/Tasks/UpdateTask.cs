using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

public static class UpdateTask
{
    /// <summary>Fields left out keep their value; a new schedule re-registers the task's job.</summary>
    public sealed record Body(
        string? Name, string? Description, string? ScriptId, string? ScheduleType, string? ScheduleExpression,
        JsonElement? Parameters, bool? RetryOnFailure, int? MaxRetries, int? TimeoutSeconds, bool? IsActive, int? Concurrency = null,
        int? MaxRunMinutes = null, bool? Backfill = null);

    public sealed record Command(long TaskId, Body Changes, Caller Caller) : ICommand<TaskView>;

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IOptions<SchedulerOptions> options, MarketTime market, TimeProvider time)
        {
            var body = new InlineValidator<Body>();
            TaskRules.Apply(body, options.Value, market.Zone, time, b => b.Name, b => b.Description, b => b.ScriptId, b => b.ScheduleType, b => b.ScheduleExpression,
                b => b.Parameters, b => b.MaxRetries, b => b.TimeoutSeconds, requireAll: false, b => b.Concurrency);
            body.RuleFor(b => b.Name).NotEmpty().When(b => b.Name is not null);
            body.RuleFor(b => b.MaxRunMinutes).InclusiveBetween(0, TaskRules.MaxRunMinutes);
            RuleFor(c => c.Changes).SetValidator(body).OverridePropertyName("");
        }
    }

    public sealed class Handler(
        Database database, TaskStore tasks, ScheduleRegistrar scheduler, TaskLauncher launcher, TaskQuotas quotas,
        IOptions<SchedulerOptions> options, TimeProvider time)
        : ICommandHandler<Command, TaskView>
    {
        public async ValueTask<TaskView> Handle(Command command, CancellationToken ct)
        {
            var c = command.Changes;
            await using var connection = await database.OpenAsync(ct);
            var current = TaskStore.Visible(await TaskStore.FindAsync(connection, null, command.TaskId, false, ct), command.Caller);

            var type = c.ScheduleType ?? current.ScheduleType;
            var expression = c.ScheduleExpression?.Trim() ?? current.ScheduleExpression;
            if (c.ScheduleType is not null && c.ScheduleExpression is null && type != current.ScheduleType)
            {
                throw ApiError.Validation("schedule_expression", "a new schedule_type needs its schedule_expression");
            }

            var zone = ScheduleRules.Zone(current.TimeZone);
            var now = time.GetUtcNow().UtcDateTime;
            if (c.ScheduleType is not null || c.ScheduleExpression is not null)
            {
                var problem = ScheduleRules.Problem(type, expression, now, options.Value.MinIntervalSeconds, zone);
                if (problem is not null) throw ApiError.Validation("schedule_expression", problem);
                await quotas.CheckScheduleAsync(floor => ScheduleRules.ShortestGap(type, expression, zone, now, floor), command.Caller, ct);
            }

            // Parameters are checked against the script the task will have after the change.
            var scriptId = c.ScriptId ?? current.ScriptId;
            string? parameters = null;
            if (c.Parameters is not null || c.ScriptId is not null)
            {
                var supplied = c.Parameters ?? JsonDocument.Parse(current.Parameters).RootElement;
                parameters = await launcher.ValidateParametersAsync(scriptId, supplied, ct);
            }

            // Asked for now, or kept on a task whose script changes: the script must be able to backfill its range.
            if (c.Backfill == true || (c.Backfill is null && current.Backfill && c.ScriptId is not null))
            {
                await launcher.CheckBackfillAsync(scriptId, ct);
            }

            var scheduleChanged = type != current.ScheduleType || expression != current.ScheduleExpression;
            var set = new StringBuilder("updated_at = @now");
            if (c.Name is not null) set.Append(", name = @name");
            if (c.Description is not null) set.Append(", description = @description");
            if (c.ScriptId is not null) set.Append(", script_id = @scriptId");
            if (scheduleChanged) set.Append(", schedule_type = @type, schedule_expression = @expression, next_due_at = @nextDue");
            if (parameters is not null) set.Append(", parameters = @parameters");
            if (c.RetryOnFailure is not null) set.Append(", retry_on_failure = @retryOnFailure");
            if (c.MaxRetries is not null) set.Append(", max_retries = @maxRetries");
            if (c.TimeoutSeconds is not null) set.Append(", timeout_seconds = @timeout");
            if (c.IsActive is not null) set.Append(", is_active = @isActive");
            if (c.Concurrency is not null) set.Append(", concurrency = @concurrency");
            if (c.MaxRunMinutes is not null) set.Append(", max_run_minutes = @maxRunMinutes");
            if (c.Backfill is not null) set.Append(", backfill = @backfill");
            await connection.ExecuteAsync(new CommandDefinition($"UPDATE scheduled_tasks SET {set} WHERE id = @id", new
            {
                now,
                name = c.Name?.Trim(),
                description = c.Description,
                scriptId,
                type,
                expression,
                nextDue = type == ScheduleTypes.Interval ? now.AddSeconds(ScheduleRules.IntervalSeconds(expression)) : (DateTime?)null,
                parameters,
                retryOnFailure = c.RetryOnFailure,
                maxRetries = c.MaxRetries,
                timeout = c.TimeoutSeconds,
                isActive = c.IsActive,
                concurrency = c.Concurrency,
                maxRunMinutes = c.MaxRunMinutes,
                backfill = c.Backfill,
                id = current.Id,
            }, cancellationToken: ct));

            var updated = (await TaskStore.FindAsync(connection, null, current.Id, false, ct))!;
            await scheduler.ApplyAsync(connection, updated, ct);
            return await tasks.ViewAsync(updated, ct);
        }
    }

    internal static async Task<Ok<Envelope<TaskView>>> Endpoint(long taskId, Body body, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TaskView>.Success(await mediator.Send(new Command(taskId, body, Caller.Of(user)), ct)));
}
