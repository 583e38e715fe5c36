using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class Login
{
    public sealed record Command(string? Username, string? Password) : ICommand<TokenPair>;

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Username).NotEmpty().MaximumLength(254);
            RuleFor(c => c.Password).NotEmpty().MaximumLength(128);
        }
    }

    public sealed class Handler(Database database, Passwords passwords, Tokens tokens, LoginAttempts attempts)
        : ICommandHandler<Command, TokenPair>
    {
        private const string FindUser = """
            SELECT id, role, is_active AS IsActive, token_version AS TokenVersion, password_hash AS PasswordHash
            FROM users WHERE username = @username
            """;

        public async ValueTask<TokenPair> Handle(Command command, CancellationToken ct)
        {
            attempts.Register(command.Username!);
            await using var connection = await database.OpenAsync(ct);
            var user = await connection.QuerySingleOrDefaultAsync<Account>(
                new CommandDefinition(FindUser, new { username = command.Username }, cancellationToken: ct));

            // Verify even when the user is unknown (against a decoy hash): equal timing for both failures.
            if (!passwords.Verify(user?.PasswordHash, command.Password!) || user is null)
            {
                throw ApiError.Unauthorized("invalid username or password");
            }

            if (!user.IsActive)
            {
                throw ApiError.Unauthorized("account is deactivated");
            }

            return await tokens.StartSessionAsync(connection, null, user.Id, user.Role, user.TokenVersion, ct);
        }

        private sealed record Account(long Id, string Role, bool IsActive, int TokenVersion, string PasswordHash);
    }

    internal static async Task<Ok<Envelope<TokenPair>>> Endpoint(Command command, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TokenPair>.Success(await mediator.Send(command, ct)));
}
