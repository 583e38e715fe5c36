using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class CancelExecution
{
    public sealed record Command(string ExecutionId, ClaimsPrincipal Caller) : ICommand<Unit>;

    /// <summary>
    /// A pending run is cancelled here and never starts (its runner claims only pending rows). A running one is
    /// flagged; the runner, on whichever instance, polls the flag every second and stops. A finished run is a 409.
    /// </summary>
    public sealed class Handler(Database database, TimeProvider time) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var execution = await ExecutionRecords.FindAsync(connection, command.ExecutionId, command.Caller, ct) ?? throw ApiError.NotFound("execution");
            var now = time.GetUtcNow().UtcDateTime;
            var cancelledPending = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE executions SET status = 'cancelled', cancel_requested = 1, end_time = @now, error_message = 'cancelled before it started'
                WHERE execution_id = @id AND status = 'pending'
                """, new { now, id = execution.ExecutionId }, cancellationToken: ct));
            if (cancelledPending > 0) return Unit.Value;

            var flagged = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE executions SET cancel_requested = 1 WHERE execution_id = @id AND status = 'running'",
                new { id = execution.ExecutionId }, cancellationToken: ct));
            if (flagged == 0)
            {
                throw ApiError.Conflict($"the execution has already ended ({execution.Status})");
            }

            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(string executionId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(executionId, user), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
