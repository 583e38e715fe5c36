using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

public static class PauseTask
{
    public sealed record Command(long TaskId, Caller Caller) : ICommand<Unit>;

    /// <summary>Stops firing: the task's Hangfire job is removed. Runs already started go on.</summary>
    public sealed class Handler(Database database, ScheduleRegistrar scheduler, TimeProvider time) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var task = TaskStore.Visible(await TaskStore.FindAsync(connection, null, command.TaskId, false, ct), command.Caller);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE scheduled_tasks SET is_active = 0, updated_at = @now WHERE id = @id",
                new { now = time.GetUtcNow().UtcDateTime, id = task.Id }, cancellationToken: ct));
            await scheduler.RemoveAsync(connection, task.Id, ct);
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(long taskId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(taskId, Caller.Of(user)), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
