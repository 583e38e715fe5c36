using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class RetryExecution
{
    public sealed record Command(string ExecutionId, Caller Caller) : ICommand<Started>;

    public sealed record Started(string ExecutionId, string Status, string RetryOf);

    /// <summary>A finished run is repeated as a new execution linked to it (retry_of, retry_count + 1); a run
    /// still pending or running is a 409. A download's retry is a download again: the caller's running-work quota
    /// applies, and it runs on the ad-hoc queue. A task's retry meets the rules of a task's manual run
    /// (<see cref="TaskRunQuota"/>): 409 while the task has another run pending or running, the caller's quota.</summary>
    public sealed class Handler(ExecutionReads executions, ExecutionRetries retries, AdhocQuota quotas, TaskRunQuota taskRuns) : ICommandHandler<Command, Started>
    {
        public async ValueTask<Started> Handle(Command command, CancellationToken ct)
        {
            var execution = await executions.FindAsync(command.ExecutionId, command.Caller, ct) ?? throw ApiError.NotFound("execution");
            if (!ExecutionStatuses.Finished.Contains(execution.Status))
            {
                throw ApiError.Conflict($"the execution is still {execution.Status}; retry it once it has ended");
            }

            var adhoc = execution.TaskId is null;

            string newId;
            if (adhoc)
            {
                await using (await quotas.EnterAsync(command.Caller, scriptTest: false, ct))
                {
                    newId = await retries.RetryNowAsync(command.ExecutionId, command.Caller.Id, adhoc: true, ct);
                }
            }
            else
            {
                await using (await taskRuns.EnterAsync(command.Caller, execution.TaskId!.Value, ct))
                {
                    newId = await retries.RetryNowAsync(command.ExecutionId, command.Caller.Id, adhoc: false, ct);
                }
            }

            return new Started(newId, ExecutionStatuses.Pending, command.ExecutionId);
        }
    }

    internal static async Task<Ok<Envelope<Started>>> Endpoint(string executionId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Started>.Success(await mediator.Send(new Command(executionId, Caller.Of(user)), ct)));
}
