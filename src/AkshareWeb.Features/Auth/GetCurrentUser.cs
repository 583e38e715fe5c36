using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Accounts;

namespace AkshareWeb.Features.Auth;

public static class GetCurrentUser
{
    public sealed record Query(Caller Caller) : IQuery<UserProfile>;

    public sealed record UserProfile(long Id, string Username, string Email, string Role, bool IsActive);

    public sealed class Handler(UserAccounts accounts) : IQueryHandler<Query, UserProfile>
    {
        public async ValueTask<UserProfile> Handle(Query query, CancellationToken ct)
        {
            var user = await accounts.FindAsync(query.Caller.Id, ct) ?? throw ApiError.NotFound("user");
            return new UserProfile(user.Id, user.Username, user.Email, user.Role, user.IsActive);
        }
    }

    internal static async Task<Ok<Envelope<UserProfile>>> Endpoint(ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<UserProfile>.Success(await mediator.Send(new Query(Caller.Of(user)), ct)));
}
