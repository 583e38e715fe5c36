using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Users;

public static class DeleteUser
{
    public sealed record Command(Caller Caller, long UserId) : ICommand<Unit>;

    public sealed class Handler(Database database, Tasks.OwnerTasks ownerTasks) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            if (command.Caller.Id == command.UserId)
            {
                throw ApiError.Conflict("you cannot delete your own account");
            }

            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var user = await UserAccounts.FindAsync(connection, transaction, command.UserId, ct, forUpdate: true) ?? throw ApiError.NotFound("user");
            if (user.Role == Roles.Admin && user.IsActive
                && await UserAccounts.CountOtherActiveAdminsAsync(connection, transaction, user.Id, ct) == 0)
            {
                throw ApiError.Conflict("the last active admin cannot be deleted");
            }

            // Sessions and refresh tokens go with the user (ON DELETE CASCADE); so does every access token,
            // because each request looks its user up.
            // Their tasks stay (an admin may take them over or delete them) but stop firing.
            var paused = await ownerTasks.PauseAsync(connection, transaction, user.Id, "owner deleted", ct);
            await UserAccounts.DeleteAsync(connection, transaction, user.Id, ct);
            await transaction.CommitAsync(ct);
            await ownerTasks.UnscheduleAsync(connection, paused, ct);
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(long userId, ClaimsPrincipal actor, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(Caller.Of(actor), userId), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
