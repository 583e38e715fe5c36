using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Users;

public static class GetUser
{
    public sealed record Query(long UserId) : IQuery<UserAccount>;

    public sealed class Handler(UserAccounts accounts) : IQueryHandler<Query, UserAccount>
    {
        public async ValueTask<UserAccount> Handle(Query query, CancellationToken ct) =>
            await accounts.FindAsync(query.UserId, ct) ?? throw ApiError.NotFound("user");
    }

    internal static async Task<Ok<Envelope<UserAccount>>> Endpoint(long userId, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<UserAccount>.Success(await mediator.Send(new Query(userId), ct)));
}
