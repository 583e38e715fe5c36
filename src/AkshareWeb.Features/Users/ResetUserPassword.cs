using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Users;

public static class ResetUserPassword
{
    public sealed record Body(string? NewPassword);

    public sealed record Command(long UserId, string? NewPassword) : ICommand<Unit>;

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.NewPassword).NotEmpty().MinimumLength(8).MaximumLength(128);
    }

    public sealed class Handler(Database database, Passwords passwords, UserAccounts accounts) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            var hash = passwords.Hash(command.NewPassword!);
            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            if (!await accounts.SetPasswordAsync(connection, transaction, command.UserId, hash, ct))
            {
                throw ApiError.NotFound("user");
            }

            await accounts.RevokeAllTokensAsync(connection, transaction, command.UserId, "password reset", ct);
            await transaction.CommitAsync(ct);
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(long userId, Body body, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(userId, body.NewPassword), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
