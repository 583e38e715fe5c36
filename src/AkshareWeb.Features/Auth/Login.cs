using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class Login
{
    /// <summary><c>refresh_cookie</c> true: the refresh token goes into an HttpOnly cookie instead of the body (<see cref="RefreshCookie"/>).</summary>
    public sealed record Command(string? Username, string? Password, bool? RefreshCookie = null) : ICommand<TokenPair>
    {
        /// <summary>The client address as counted by the throttle (IPv6: its /64).</summary>
        internal string Address { get; init; } = "unknown";
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Username).NotEmpty().MaximumLength(254);
            RuleFor(c => c.Password).NotEmpty().MaximumLength(128);
        }
    }

    public sealed class Handler(Database database, Passwords passwords, Tokens tokens, LoginAttempts attempts, TimeProvider time)
        : ICommandHandler<Command, TokenPair>
    {
        public async ValueTask<TokenPair> Handle(Command command, CancellationToken ct)
        {
            AccountCredentials? user;
            LoginAttempt attempt;
            // The attempt is counted before its password is checked; the connection goes back to the pool before the
            // brake's delay, so an account under attack cannot tie up the pool with logins that wait.
            await using (var lookup = await database.OpenAsync(ct))
            {
                // Every spelling of a name finds its one account (UserAccounts.CredentialsAsync); the throttle is keyed on that account.
                user = await UserAccounts.CredentialsAsync(lookup, command.Username!.Trim(), ct);
                attempt = await attempts.CountAsync(lookup, LoginAttempts.AccountKey(user?.Id, command.Username!), command.Address, ct);
            }

            if (attempt.Brake > TimeSpan.Zero)
            {
                await Task.Delay(attempt.Brake, time, ct);
            }

            // Verify even when the user is unknown (against a decoy hash): equal timing for both failures.
            if (!passwords.Verify(user?.PasswordHash, command.Password!) || user is null)
            {
                throw ApiError.Unauthorized("invalid username or password");
            }

            await using var connection = await database.OpenAsync(ct);
            await attempts.SucceededAsync(connection, attempt, ct);
            if (!user.IsActive)
            {
                throw ApiError.Unauthorized(user.AwaitingApproval
                    ? "account is awaiting approval by an administrator"
                    : "account is deactivated");
            }

            return await tokens.StartSessionAsync(connection, null, user.Id, user.Role, user.TokenVersion, ct);
        }
    }

    internal static async Task<Ok<Envelope<TokenPair>>> Endpoint(
        Command command, HttpContext context, IMediator mediator, IOptions<JwtOptions> jwt, CancellationToken ct)
    {
        var pair = await mediator.Send(command with { Address = ClientAddress.Key(context) }, ct);
        return TypedResults.Ok(Envelope<TokenPair>.Success(Auth.RefreshCookie.Answer(context, pair, command.RefreshCookie, jwt.Value)));
    }
}
