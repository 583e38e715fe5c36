using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

public static class DeleteTask
{
    public sealed record Command(long TaskId, Caller Caller) : ICommand<Unit>;

    /// <summary>Removes the task and its Hangfire job; its executions stay, still naming the task id.</summary>
    public sealed class Handler(Database database, ScheduleRegistrar scheduler) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var task = TaskStore.Visible(await TaskStore.FindAsync(connection, null, command.TaskId, false, ct), command.Caller);
            await scheduler.RemoveAsync(connection, task.Id, ct);
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM scheduled_tasks WHERE id = @id", new { id = task.Id }, cancellationToken: ct));
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(long taskId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(taskId, Caller.Of(user)), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
