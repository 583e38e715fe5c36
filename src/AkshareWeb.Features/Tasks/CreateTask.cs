using System.Security.Claims;
using System.Text.Json;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

public static class CreateTask
{
    public sealed record Command(
        string? Name, string? Description, string? ScriptId, string? ScheduleType, string? ScheduleExpression,
        JsonElement? Parameters, bool? RetryOnFailure, int? MaxRetries, int? TimeoutSeconds, bool? IsActive, int? Concurrency = null,
        int? MaxRunMinutes = null, bool? Backfill = null) : ICommand<TaskView>
    {
        internal Caller Caller { get; init; }
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IOptions<SchedulerOptions> options, MarketTime market, TimeProvider time)
        {
            TaskRules.Apply(this, options.Value, market.Zone, time, c => c.Name, c => c.Description, c => c.ScriptId, c => c.ScheduleType, c => c.ScheduleExpression,
                c => c.Parameters, c => c.MaxRetries, c => c.TimeoutSeconds, requireAll: true, c => c.Concurrency);
            RuleFor(c => c.MaxRunMinutes).InclusiveBetween(0, TaskRules.MaxRunMinutes);
        }
    }

    public sealed class Handler(
        Database database, TaskStore tasks, ScheduleRegistrar scheduler, TaskLauncher launcher, TaskQuotas quotas,
        MarketTime market, TimeProvider time)
        : ICommandHandler<Command, TaskView>
    {
        private const string Insert = """
            INSERT INTO scheduled_tasks (name, description, script_id, schedule_type, schedule_expression, time_zone, parameters,
              is_active, retry_on_failure, max_retries, timeout_seconds, max_run_minutes, backfill, concurrency, owner_id, next_due_at, created_at, updated_at)
            VALUES (@Name, @Description, @ScriptId, @ScheduleType, @ScheduleExpression, @TimeZone, @Parameters,
              @IsActive, @RetryOnFailure, @MaxRetries, @TimeoutSeconds, @MaxRunMinutes, @Backfill, @Concurrency, @OwnerId, @NextDueAt, @Now, @Now);
            SELECT LAST_INSERT_ID();
            """;

        public async ValueTask<TaskView> Handle(Command command, CancellationToken ct)
        {
            var parameters = await launcher.ValidateParametersAsync(command.ScriptId!, command.Parameters, ct);
            if (command.Backfill == true) await launcher.CheckBackfillAsync(command.ScriptId!, ct);
            var now = time.GetUtcNow().UtcDateTime;
            await quotas.CheckScheduleAsync(
                floor => ScheduleRules.ShortestGap(command.ScheduleType!, command.ScheduleExpression!.Trim(), market.Zone, now, floor), command.Caller, ct);
            await using var quota = await quotas.EnterCreationAsync(command.Caller, ct);
            await using var connection = await database.OpenAsync(ct);
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(Insert, new
            {
                Name = command.Name!.Trim(),
                command.Description,
                command.ScriptId,
                command.ScheduleType,
                ScheduleExpression = command.ScheduleExpression!.Trim(),
                TimeZone = market.ZoneId,
                Parameters = parameters,
                IsActive = command.IsActive ?? true,
                RetryOnFailure = command.RetryOnFailure ?? false,
                MaxRetries = command.MaxRetries ?? 0,
                command.TimeoutSeconds,
                command.MaxRunMinutes,
                Backfill = command.Backfill ?? false,
                command.Concurrency,
                OwnerId = command.Caller.Id,
                NextDueAt = command.ScheduleType == ScheduleTypes.Interval
                    ? now.AddSeconds(ScheduleRules.IntervalSeconds(command.ScheduleExpression!.Trim()))
                    : (DateTime?)null,
                Now = now,
            }, cancellationToken: ct));

            await quota.DisposeAsync();

            var task = (await TaskStore.FindAsync(connection, null, id, false, ct))!;
            await scheduler.ApplyAsync(connection, task, ct);
            return tasks.View(task, null);
        }
    }

    internal static async Task<Created<Envelope<TaskView>>> Endpoint(Command command, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        var task = await mediator.Send(command with { Caller = Caller.Of(user) }, ct);
        return TypedResults.Created($"/api/tasks/{task.Id}", Envelope<TaskView>.Success(task));
    }
}

/// <summary>The field rules that creating and updating a task share.</summary>
internal static class TaskRules
{
    /// <summary>
    /// description is a TEXT column: 65,535 bytes. A UTF-16 unit takes at most 3 bytes in utf8mb4 (a 4-byte
    /// character is two units), so this many units always fit.
    /// </summary>
    public const int DescriptionMaxLength = 21_845;

    /// <summary>
    /// schedule_expression is VARCHAR(1000) (migration 0205): every cron expression written without repeats fits
    /// (a full list in each field, month and weekday names included, is under 400 characters).
    /// </summary>
    public const int ScheduleExpressionMaxLength = 1000;

    /// <summary>max_run_minutes: 0 (no overall limit) to 30 days.</summary>
    public const int MaxRunMinutes = 43_200;

    public static void Apply<T>(
        AbstractValidator<T> v, SchedulerOptions options, TimeZoneInfo zone, TimeProvider time,
        System.Linq.Expressions.Expression<Func<T, string?>> name,
        System.Linq.Expressions.Expression<Func<T, string?>> description,
        System.Linq.Expressions.Expression<Func<T, string?>> scriptId,
        System.Linq.Expressions.Expression<Func<T, string?>> type,
        System.Linq.Expressions.Expression<Func<T, string?>> expression,
        System.Linq.Expressions.Expression<Func<T, JsonElement?>> parameters,
        System.Linq.Expressions.Expression<Func<T, int?>> maxRetries,
        System.Linq.Expressions.Expression<Func<T, int?>> timeout,
        bool requireAll,
        System.Linq.Expressions.Expression<Func<T, int?>> concurrency)
    {
        if (requireAll)
        {
            v.RuleFor(name).NotEmpty();
            v.RuleFor(scriptId).NotEmpty();
            v.RuleFor(type).NotEmpty();
            v.RuleFor(expression).NotEmpty();
        }

        // Each text has the length its column holds (scheduled_tasks), so a long one is a 422, never a database error.
        v.RuleFor(name).MaximumLength(200);
        v.RuleFor(description).MaximumLength(DescriptionMaxLength);
        v.RuleFor(scriptId).MaximumLength(64);
        v.RuleFor(expression).MaximumLength(ScheduleExpressionMaxLength);
        v.RuleFor(type).Must(t => t is null || ScheduleTypes.All.Contains(t)).WithMessage("schedule_type must be cron, interval or once");
        var getType = type.Compile();
        v.RuleFor(expression)
            .Must((task, e) => e is null || getType(task) is null || ScheduleRules.Problem(getType(task)!, e.Trim(), time.GetUtcNow().UtcDateTime, options.MinIntervalSeconds, zone) is null)
            .WithMessage((task, e) => ScheduleRules.Problem(getType(task) ?? "", e?.Trim(), time.GetUtcNow().UtcDateTime, options.MinIntervalSeconds, zone) ?? "")
            .When(task => getType(task) is not null && ScheduleTypes.All.Contains(getType(task)));
        v.RuleFor(parameters).Must(p => p is null || p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Null)
            .WithMessage("parameters must be an object of name: value");
        v.RuleFor(maxRetries).InclusiveBetween(0, 10);
        v.RuleFor(timeout).InclusiveBetween(10, 86_400);
        // Parts a run over parameter sources takes at once; a run never takes more than max_concurrent_tasks allows.
        v.RuleFor(concurrency).InclusiveBetween(1, 100);
    }
}
