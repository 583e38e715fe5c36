using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Features.Tasks;

public static class ExecuteTask
{
    public sealed record Command(long TaskId, Caller Caller) : ICommand<Started>;

    public sealed record Started(string ExecutionId, string Status);

    /// <summary>Runs the task now, whatever its schedule (a paused task too): answers at once with the pending execution;
    /// 409 while the task has a run pending or running, 429 when the caller's runs of tasks are at their quota.</summary>
    public sealed class Handler(TaskStore tasks, TaskLauncher launcher, TaskRunQuota quota) : ICommandHandler<Command, Started>
    {
        public async ValueTask<Started> Handle(Command command, CancellationToken ct)
        {
            var task = TaskStore.Visible(await tasks.FindAsync(command.TaskId, ct), command.Caller);
            string? executionId;
            await using (await quota.EnterAsync(command.Caller, task.Id, ct))
            {
                executionId = await launcher.StartAsync(task, command.Caller, "manual", null, ct);
            }

            return new Started(executionId!, "pending");
        }
    }

    internal static async Task<Ok<Envelope<Started>>> Endpoint(long taskId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Started>.Success(await mediator.Send(new Command(taskId, Caller.Of(user)), ct)));
}
