using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class RefreshToken
{
    /// <summary>
    /// The refresh token in the body (API clients), or none and the HttpOnly cookie a console sign-in set
    /// (<see cref="RefreshCookie"/>), which the answer then replaces with the next one.
    /// </summary>
    public sealed record Command(string? RefreshToken) : ICommand<TokenPair>
    {
        internal bool FromCookie { get; init; }
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.RefreshToken).NotEmpty().When(c => !c.FromCookie)
                .WithMessage("refresh_token is required (or the HttpOnly cookie that a sign-in with refresh_cookie: true sets)");
            RuleFor(c => c.RefreshToken).MaximumLength(512);
        }
    }

    public sealed class Handler(Database database, Tokens tokens, TimeProvider time) : ICommandHandler<Command, TokenPair>
    {
        // FOR UPDATE serialises two refreshes of one token: the second sees it used and revokes the family.
        private const string FindToken = """
            SELECT t.id, t.session_id AS SessionId, t.expires_at AS ExpiresAt, t.used_at AS UsedAt,
                   s.revoked_at AS RevokedAt, s.created_at AS SessionStarted, s.user_id AS UserId
            FROM refresh_tokens t
            JOIN auth_sessions s ON s.id = t.session_id
            WHERE t.token_hash = @hash
            FOR UPDATE
            """;

        public async ValueTask<TokenPair> Handle(Command command, CancellationToken ct)
        {
            var now = time.GetUtcNow().UtcDateTime;
            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var token = await connection.QuerySingleOrDefaultAsync<StoredToken>(new CommandDefinition(
                FindToken, new { hash = Tokens.Hash(command.RefreshToken!) }, transaction, cancellationToken: ct))
                ?? throw ApiError.Unauthorized("invalid refresh token");

            if (token.RevokedAt is not null)
            {
                throw ApiError.Unauthorized("refresh token has been revoked");
            }

            if (token.UsedAt is not null)
            {
                // A used token presented again means it was copied: end the whole family, thief and owner alike.
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE auth_sessions SET revoked_at = @now, revoked_reason = 'refresh token reuse' WHERE id = @id",
                    new { now, id = token.SessionId }, transaction, cancellationToken: ct));
                await transaction.CommitAsync(ct);
                throw ApiError.Unauthorized("refresh token was already used; the session has been revoked");
            }

            if (tokens.SessionEnd(token.SessionStarted) <= now)
            {
                throw new ApiError(401, ErrorCodes.TokenExpired, "the session has reached its maximum lifetime; log in again");
            }

            if (token.ExpiresAt <= now)
            {
                throw new ApiError(401, ErrorCodes.TokenExpired, "refresh token has expired");
            }

            // The account's standing now: a demotion or a deactivation since the login applies to the new token.
            var account = await UserAccounts.StandingAsync(connection, transaction, token.UserId, ct);
            if (account is not { IsActive: true })
            {
                throw ApiError.Unauthorized("account is deactivated");
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE refresh_tokens SET used_at = @now WHERE id = @id", new { now, id = token.Id }, transaction, cancellationToken: ct));
            var refresh = await tokens.AddRefreshTokenAsync(connection, transaction, token.SessionId, token.SessionStarted, ct);
            await transaction.CommitAsync(ct);
            return new TokenPair(
                tokens.CreateAccessToken(token.UserId, account.Role, account.TokenVersion, token.SessionId),
                refresh, "bearer", tokens.AccessTokenSeconds);
        }

        private sealed record StoredToken(
            long Id, string SessionId, DateTime ExpiresAt, DateTime? UsedAt, DateTime? RevokedAt, DateTime SessionStarted, long UserId);
    }

    internal static async Task<Ok<Envelope<TokenPair>>> Endpoint(
        Command command, HttpContext context, IMediator mediator, IOptions<JwtOptions> jwt, CancellationToken ct)
    {
        // A token in the body wins: an API client's refresh never touches a cookie the browser may also hold.
        if (string.IsNullOrEmpty(command.RefreshToken) && RefreshCookie.Read(context) is { } cookie)
        {
            var pair = await mediator.Send(command with { RefreshToken = cookie, FromCookie = true }, ct);
            return TypedResults.Ok(Envelope<TokenPair>.Success(RefreshCookie.Hand(context, pair, jwt.Value)));
        }

        return TypedResults.Ok(Envelope<TokenPair>.Success(await mediator.Send(command, ct)));
    }
}
