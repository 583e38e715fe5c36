using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Users;

public static class ListUsers
{
    public sealed record Query(PageRequest Paging, string? Username, string? Email, string? Role) : IQuery<Paged<UserAccount>>;

    public sealed class Parameters : PageParameters
    {
        /// <summary>Part of the username (case-insensitive).</summary>
        [FromQuery(Name = "username")] public string? Username { get; init; }
        /// <summary>Part of the e-mail address (case-insensitive).</summary>
        [FromQuery(Name = "email")] public string? Email { get; init; }
        /// <summary>user or admin.</summary>
        [FromQuery(Name = "role")] public string? Role { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            RuleFor(q => q.Role).Must(r => r is null || Roles.All.Contains(r)).WithMessage("role must be user or admin");
            RuleFor(q => q.Username).MaximumLength(64);
            RuleFor(q => q.Email).MaximumLength(254);
        }
    }

    public sealed class Handler(UserAccounts accounts) : IQueryHandler<Query, Paged<UserAccount>>
    {
        public async ValueTask<Paged<UserAccount>> Handle(Query query, CancellationToken ct) =>
            await accounts.ListAsync(query.Username, query.Email, query.Role, query.Paging, ct);
    }

    internal static async Task<Ok<Envelope<Paged<UserAccount>>>> Endpoint([AsParameters] Parameters p, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<UserAccount>>.Success(await mediator.Send(
            new Query(p.ToRequest(), p.Username, p.Email, p.Role), ct)));
}
