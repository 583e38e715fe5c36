using System.Globalization;
using System.Security.Claims;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

public static class UpdateSettings
{
    /// <summary>Fields left out keep their value.</summary>
    public sealed record Command(
        int? MaxConcurrentTasks, int? DefaultTimeout, bool? RetryEnabled, int? MaxRetries,
        int? UserMaxRunningJobs, int? UserMaxTasks, int? UserMinScheduleMinutes, int? UserMaxTaskRuns = null,
        int? UserMaxSlotsPercent = null, int? UserMaxPartsWaiting = null, int? DefaultMaxRunMinutes = null) : ICommand<ExecutionSettings>
    {
        internal Caller Caller { get; init; }
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.MaxConcurrentTasks).InclusiveBetween(1, 100);
            RuleFor(c => c.DefaultTimeout).InclusiveBetween(10, 86_400).WithMessage("default_timeout must be between 10 and 86400 seconds");
            RuleFor(c => c.MaxRetries).InclusiveBetween(0, 10);
            RuleFor(c => c.UserMaxRunningJobs).InclusiveBetween(0, 1000);
            RuleFor(c => c.UserMaxTasks).InclusiveBetween(0, 100_000);
            RuleFor(c => c.UserMinScheduleMinutes).InclusiveBetween(0, 10_080);
            RuleFor(c => c.UserMaxTaskRuns).InclusiveBetween(0, 100_000);
            RuleFor(c => c.UserMaxSlotsPercent).InclusiveBetween(1, 100);
            RuleFor(c => c.UserMaxPartsWaiting).InclusiveBetween(0, 10_000_000);
            // 0: no overall limit; at most 30 days.
            RuleFor(c => c.DefaultMaxRunMinutes).InclusiveBetween(0, 43_200);
        }
    }

    public sealed class Handler(SystemSettings settings) : ICommandHandler<Command, ExecutionSettings>
    {
        public async ValueTask<ExecutionSettings> Handle(Command command, CancellationToken ct)
        {
            var changes = new Dictionary<string, string>(StringComparer.Ordinal);
            if (command.MaxConcurrentTasks is { } max) changes["max_concurrent_tasks"] = max.ToString(CultureInfo.InvariantCulture);
            if (command.DefaultTimeout is { } timeout) changes["default_timeout"] = timeout.ToString(CultureInfo.InvariantCulture);
            if (command.RetryEnabled is { } retry) changes["retry_enabled"] = retry ? "true" : "false";
            if (command.MaxRetries is { } retries) changes["max_retries"] = retries.ToString(CultureInfo.InvariantCulture);
            if (command.UserMaxRunningJobs is { } running) changes["user_max_running_jobs"] = running.ToString(CultureInfo.InvariantCulture);
            if (command.UserMaxTasks is { } owned) changes["user_max_tasks"] = owned.ToString(CultureInfo.InvariantCulture);
            if (command.UserMinScheduleMinutes is { } minutes) changes["user_min_schedule_minutes"] = minutes.ToString(CultureInfo.InvariantCulture);
            if (command.UserMaxTaskRuns is { } taskRuns) changes["user_max_task_runs"] = taskRuns.ToString(CultureInfo.InvariantCulture);
            if (command.UserMaxSlotsPercent is { } percent) changes["user_max_slots_percent"] = percent.ToString(CultureInfo.InvariantCulture);
            if (command.UserMaxPartsWaiting is { } parts) changes["user_max_parts_waiting"] = parts.ToString(CultureInfo.InvariantCulture);
            if (command.DefaultMaxRunMinutes is { } runMinutes) changes["default_max_run_minutes"] = runMinutes.ToString(CultureInfo.InvariantCulture);
            await settings.SetManyAsync(changes, command.Caller.Id, ct);
            return await settings.GetExecutionSettingsAsync(ct);
        }
    }

    internal static async Task<Ok<Envelope<ExecutionSettings>>> Endpoint(Command command, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<ExecutionSettings>.Success(await mediator.Send(command with { Caller = Caller.Of(user) }, ct)));
}
