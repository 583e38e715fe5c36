using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MySqlConnector;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class Register
{
    /// <summary><c>refresh_cookie</c> true: the refresh token goes into an HttpOnly cookie instead of the body (<see cref="RefreshCookie"/>).</summary>
    public sealed record Command(string? Username, string? Email, string? Password, string? PasswordConfirm, bool? RefreshCookie = null)
        : ICommand<Outcome>;

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Username).NotEmpty().Length(3, 32).Matches("^[A-Za-z0-9_]+$")
                .WithMessage("username must be 3-32 letters, digits or underscores");
            RuleFor(c => c.Email).NotEmpty().MaximumLength(254).EmailAddress()
                .Matches(@"^[^@\s]+@[^@\s]+\.[^@\s]+$").WithMessage("email must be a valid e-mail address");
            RuleFor(c => c.Password).NotEmpty().MinimumLength(8).MaximumLength(128);
            RuleFor(c => c.PasswordConfirm).NotEmpty().Equal(c => c.Password).WithMessage("passwords do not match");
        }
    }

    /// <summary>What registration answers: tokens when the account is usable at once; none while it awaits approval.</summary>
    public sealed record Outcome(TokenPair? Tokens, string Username);

    /// <summary>The answer to a registration that awaits an admin's approval (202).</summary>
    public sealed record Pending(string Username, bool IsActive, bool AwaitingApproval);

    public sealed class Handler(Database database, UserAccounts accounts, Passwords passwords, Tokens tokens, IOptions<AuthOptions> auth)
        : ICommandHandler<Command, Outcome>
    {
        public async ValueTask<Outcome> Handle(Command command, CancellationToken ct)
        {
            var mode = auth.Value.Registration;
            if (mode == RegistrationModes.Closed)
            {
                throw ApiError.Forbidden("registration is closed on this server; ask an administrator for an account");
            }

            var approval = mode == RegistrationModes.Approval;
            var hash = passwords.Hash(command.Password!);
            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            long id;
            try
            {
                id = await accounts.CreateAsync(connection, transaction,
                    new NewAccount(command.Username!, command.Email!.Trim(), hash, Roles.User, IsActive: !approval, AwaitingApproval: approval), ct);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
            {
                // The unique indexes decide, so two simultaneous registrations of one name cannot both win.
                throw e.Message.Contains("ux_users_email", StringComparison.Ordinal)
                    ? ApiError.AlreadyExists("email is already registered", new[] { new FieldError("email", "already registered") })
                    : ApiError.AlreadyExists("username is already taken", new[] { new FieldError("username", "already taken") });
            }

            if (approval)
            {
                await transaction.CommitAsync(ct);
                return new Outcome(null, command.Username!);
            }

            var pair = await tokens.StartSessionAsync(connection, transaction, id, Roles.User, 0, ct);
            await transaction.CommitAsync(ct);
            return new Outcome(pair, command.Username!);
        }
    }

    internal static async Task<Results<Created<Envelope<TokenPair>>, Accepted<Envelope<Pending>>>> Endpoint(
        Command command, HttpContext context, IMediator mediator, IOptions<JwtOptions> jwt, CancellationToken ct)
    {
        var outcome = await mediator.Send(command, ct);
        return outcome.Tokens is { } pair
            ? TypedResults.Created("/api/auth/me", Envelope<TokenPair>.Success(Auth.RefreshCookie.Answer(context, pair, command.RefreshCookie, jwt.Value)))
            : TypedResults.Accepted((string?)null, new Envelope<Pending>(0,
                "account created; an administrator must activate it before you can log in", new Pending(outcome.Username, false, true)));
    }
}
