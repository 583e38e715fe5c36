using System.Security.Claims;
using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using MySqlConnector;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Users;

public static class UpdateUser
{
    /// <summary>Fields left out (null) keep their value.</summary>
    public sealed record Body(string? Email, string? Role, bool? IsActive);

    public sealed record Command(Caller Caller, long UserId, string? Email, string? Role, bool? IsActive) : ICommand<UserAccount>;

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Email).MaximumLength(254).EmailAddress()
                .Matches(@"^[^@\s]+@[^@\s]+\.[^@\s]+$").When(c => c.Email is not null).WithMessage("email must be a valid e-mail address");
            RuleFor(c => c.Role).Must(r => Roles.All.Contains(r)).When(c => c.Role is not null).WithMessage("role must be user or admin");
        }
    }

    public sealed class Handler(Database database, UserAccounts accounts, Tasks.OwnerTasks ownerTasks) : ICommandHandler<Command, UserAccount>
    {
        public async ValueTask<UserAccount> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var user = await UserAccounts.FindAsync(connection, transaction, command.UserId, ct, forUpdate: true) ?? throw ApiError.NotFound("user");

            var losesAdmin = user.Role == Roles.Admin && user.IsActive
                && (command.Role == Roles.User || command.IsActive == false);
            if (losesAdmin && await UserAccounts.CountOtherActiveAdminsAsync(connection, transaction, user.Id, ct) == 0)
            {
                throw ApiError.Conflict("the last active admin cannot be demoted or deactivated");
            }

            try
            {
                await accounts.UpdateAsync(connection, transaction, user.Id, new AccountChanges(command.Email, command.Role, command.IsActive), ct);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
            {
                throw ApiError.AlreadyExists("email is already registered", new[] { new FieldError("email", "already registered") });
            }

            IReadOnlyList<long> paused = [];
            if (command.IsActive == false && user.IsActive)
            {
                await accounts.RevokeAllTokensAsync(connection, transaction, user.Id, "deactivated", ct);
                paused = await ownerTasks.PauseAsync(connection, transaction, user.Id, "owner deactivated", ct);
            }

            var updated = await UserAccounts.FindAsync(connection, transaction, user.Id, ct);
            await transaction.CommitAsync(ct);
            await ownerTasks.UnscheduleAsync(connection, paused, ct);
            return updated!;
        }
    }

    internal static async Task<Ok<Envelope<UserAccount>>> Endpoint(long userId, Body body, ClaimsPrincipal actor, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<UserAccount>.Success(await mediator.Send(
            new Command(Caller.Of(actor), userId, body.Email, body.Role, body.IsActive), ct)));
}
