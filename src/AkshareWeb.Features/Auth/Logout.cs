using System.Security.Claims;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class Logout
{
    /// <summary>Ends the session the presented access token belongs to.</summary>
    public sealed record Command(Caller Caller, string SessionId) : ICommand<Unit>;

    public sealed class Handler(Database database, TimeProvider time) : ICommandHandler<Command, Unit>
    {
        // Every authenticated request checks its session, so revoking it here stops the access token on every
        // instance at once, and the refresh tokens of the family with it.
        private const string Revoke = """
            UPDATE auth_sessions SET revoked_at = @now, revoked_reason = 'logout'
            WHERE id = @sessionId AND user_id = @userId AND revoked_at IS NULL
            """;

        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(Revoke,
                new { now = time.GetUtcNow().UtcDateTime, command.SessionId, userId = command.Caller.Id }, cancellationToken: ct));
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(ClaimsPrincipal user, HttpContext context, IMediator mediator, CancellationToken ct)
    {
        var session = user.FindFirst(TokenClaims.Session)?.Value ?? throw ApiError.Unauthorized();
        await mediator.Send(new Command(Caller.Of(user), session), ct);
        // The session's refresh tokens no longer work; the browser forgets its cookie too.
        RefreshCookie.Clear(context);
        return TypedResults.Ok(Envelope.Success());
    }
}
