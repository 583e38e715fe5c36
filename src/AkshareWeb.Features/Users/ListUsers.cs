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

    public sealed class Handler(Database database) : IQueryHandler<Query, Paged<UserAccount>>
    {
        public async ValueTask<Paged<UserAccount>> Handle(Query query, CancellationToken ct)
        {
            var where = new StringBuilder("WHERE 1 = 1");
            var args = new DynamicParameters();
            if (!string.IsNullOrEmpty(query.Username))
            {
                where.Append(" AND username LIKE @username");
                args.Add("username", Like.Contains(query.Username));
            }

            if (!string.IsNullOrEmpty(query.Email))
            {
                where.Append(" AND email LIKE @email");
                args.Add("email", Like.Contains(query.Email));
            }

            if (!string.IsNullOrEmpty(query.Role))
            {
                where.Append(" AND role = @role");
                args.Add("role", query.Role);
            }

            args.Add("limit", query.Paging.PageSize);
            args.Add("offset", query.Paging.Offset);
            await using var connection = await database.OpenAsync(ct);
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM users {where}", args, cancellationToken: ct));
            var items = (await connection.QueryAsync<UserAccount>(new CommandDefinition(
                $"SELECT {UserAccounts.Columns} FROM users {where} ORDER BY id LIMIT @limit OFFSET @offset", args, cancellationToken: ct))).AsList();
            return Paged<UserAccount>.Of(items, total, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<UserAccount>>>> Endpoint([AsParameters] Parameters p, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<UserAccount>>.Success(await mediator.Send(
            new Query(p.ToRequest(), p.Username, p.Email, p.Role), ct)));
}
