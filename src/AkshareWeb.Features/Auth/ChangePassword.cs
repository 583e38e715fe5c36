using System.Security.Claims;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class ChangePassword
{
    public sealed record Command(string? CurrentPassword, string? NewPassword) : ICommand<Unit>
    {
        internal Caller Caller { get; init; }
        internal string SessionId { get; init; } = "";
        internal string Address { get; init; } = "unknown";
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.CurrentPassword).NotEmpty().MaximumLength(128);
            RuleFor(c => c.NewPassword).NotEmpty().MinimumLength(8).MaximumLength(128)
                .NotEqual(c => c.CurrentPassword).WithMessage("new_password must differ from current_password");
        }
    }

    /// <summary>
    /// The signed-in user's own change. The session that asks stays signed in (its access and refresh tokens keep
    /// working); every other session of the user ends at once, so a device or thief holding an old login is out.
    /// A wrong current password counts as a failed login, so a stolen access token cannot be used to guess it.
    /// </summary>
    public sealed class Handler(Database database, UserAccounts accounts, Passwords passwords, LoginAttempts attempts, TimeProvider time)
        : ICommandHandler<Command, Unit>
    {
        private const string EndOtherSessions = """
            UPDATE auth_sessions SET revoked_at = @now, revoked_reason = 'password changed'
            WHERE user_id = @userId AND id <> @sessionId AND revoked_at IS NULL
            """;

        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            LoginAttempt attempt;
            await using (var counting = await database.OpenAsync(ct))
            {
                attempt = await attempts.CountAsync(counting, LoginAttempts.AccountKey(command.Caller.Id, ""), command.Address, ct);
            }

            if (attempt.Brake > TimeSpan.Zero) await Task.Delay(attempt.Brake, time, ct);

            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var stored = await UserAccounts.PasswordHashForUpdateAsync(connection, transaction, command.Caller.Id, ct) ?? throw ApiError.Unauthorized();
            if (!passwords.Verify(stored, command.CurrentPassword!))
            {
                throw ApiError.Validation("current_password", "the current password is wrong");
            }

            await attempts.SucceededAsync(connection, attempt, ct, transaction);
            var now = time.GetUtcNow().UtcDateTime;
            await accounts.SetPasswordAsync(connection, transaction, command.Caller.Id, passwords.Hash(command.NewPassword!), ct);
            await connection.ExecuteAsync(new CommandDefinition(EndOtherSessions,
                new { now, userId = command.Caller.Id, sessionId = command.SessionId }, transaction, cancellationToken: ct));
            await transaction.CommitAsync(ct);
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(Command command, ClaimsPrincipal user, HttpContext context, IMediator mediator, CancellationToken ct)
    {
        var session = user.FindFirst(TokenClaims.Session)?.Value ?? throw ApiError.Unauthorized();
        await mediator.Send(command with
        {
            Caller = Caller.Of(user),
            SessionId = session,
            Address = ClientAddress.Key(context),
        }, ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
