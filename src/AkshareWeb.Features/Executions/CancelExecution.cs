using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class CancelExecution
{
    public sealed record Command(string ExecutionId, Caller Caller) : ICommand<Unit>;

    /// <summary>
    /// A pending run is cancelled here and never starts (its runner claims only pending rows). A running one is
    /// flagged; the runner, on whichever instance, polls the flag every second and stops. A finished run is a 409.
    /// </summary>
    public sealed class Handler(ExecutionReads reads, ExecutionStore executions) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            var execution = await reads.FindAsync(command.ExecutionId, command.Caller, ct) ?? throw ApiError.NotFound("execution");
            if (await executions.CancelAsync(execution.ExecutionId, ct) == CancelResult.AlreadyEnded)
            {
                throw ApiError.Conflict($"the execution has already ended ({execution.Status})");
            }

            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(string executionId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(executionId, Caller.Of(user)), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
