using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class Register
{
    public sealed record Command(string? Username, string? Email, string? Password, string? PasswordConfirm)
        : ICommand<TokenPair>;

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

    public sealed class Handler(Database database, Passwords passwords, Tokens tokens, TimeProvider time)
        : ICommandHandler<Command, TokenPair>
    {
        private const string Insert = """
            INSERT INTO users (username, email, password_hash, role, is_active, token_version, created_at, updated_at)
            VALUES (@username, @email, @hash, 'user', 1, 0, @now, @now)
            """;

        public async ValueTask<TokenPair> Handle(Command command, CancellationToken ct)
        {
            var hash = passwords.Hash(command.Password!);
            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            long id;
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(Insert, new
                {
                    username = command.Username,
                    email = command.Email!.Trim(),
                    hash,
                    now = time.GetUtcNow().UtcDateTime,
                }, transaction, cancellationToken: ct));
                id = await connection.ExecuteScalarAsync<long>(
                    new CommandDefinition("SELECT LAST_INSERT_ID()", transaction: transaction, cancellationToken: ct));
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
            {
                // The unique indexes decide, so two simultaneous registrations of one name cannot both win.
                throw e.Message.Contains("ux_users_email", StringComparison.Ordinal)
                    ? ApiError.AlreadyExists("email is already registered", new[] { new FieldError("email", "already registered") })
                    : ApiError.AlreadyExists("username is already taken", new[] { new FieldError("username", "already taken") });
            }

            var pair = await tokens.StartSessionAsync(connection, transaction, id, Roles.User, 0, ct);
            await transaction.CommitAsync(ct);
            return pair;
        }
    }

    internal static async Task<Created<Envelope<TokenPair>>> Endpoint(Command command, IMediator mediator, CancellationToken ct) =>
        TypedResults.Created("/api/auth/me", Envelope<TokenPair>.Success(await mediator.Send(command, ct)));
}
