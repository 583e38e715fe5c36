using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

public static class ResumeTask
{
    public sealed record Command(long TaskId, Caller Caller) : ICommand<Unit>;

    /// <summary>Fires again from now on; an interval restarts from now, and a once-time already past is refused.</summary>
    public sealed class Handler(Database database, ScheduleRegistrar scheduler, TimeProvider time) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var task = TaskStore.Visible(await TaskStore.FindAsync(connection, null, command.TaskId, false, ct), command.Caller);
            var now = time.GetUtcNow().UtcDateTime;
            if (task.ScheduleType == ScheduleTypes.Once && ScheduleRules.OnceAtUtc(task.ScheduleExpression, ScheduleRules.Zone(task.TimeZone)) <= now)
            {
                throw ApiError.Conflict("the date-time of this once task has passed; update its schedule to run it again");
            }

            if (task.OwnerId is { } owner && await UserAccounts.StandingAsync(connection, null, owner, ct) is not { IsActive: true })
            {
                throw ApiError.Conflict($"the task's owner is deactivated or deleted ({task.PausedReason ?? "paused"}); it cannot run for them");
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE scheduled_tasks SET is_active = 1, paused_reason = NULL, updated_at = @now, next_due_at = @nextDue WHERE id = @id",
                new
                {
                    now,
                    nextDue = task.ScheduleType == ScheduleTypes.Interval ? now.AddSeconds(ScheduleRules.IntervalSeconds(task.ScheduleExpression)) : (DateTime?)null,
                    id = task.Id,
                }, cancellationToken: ct));
            await scheduler.ApplyAsync(connection, (await TaskStore.FindAsync(connection, null, task.Id, false, ct))!, ct);
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(long taskId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(taskId, Caller.Of(user)), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
