using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Interfaces;

public static class ListInterfaces
{
    public sealed record Query(PageRequest Paging, string? Category, string? Keyword, string? Search = null) : IQuery<Paged<InterfaceSummary>>
    {
        /// <summary>The words to look for, whichever of the two names carried them.</summary>
        public string? Words => Keyword ?? Search;
    }

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "category")] public string? Category { get; init; }
        /// <summary>Part of the name, display name or description (Chinese included), case-insensitive.</summary>
        [FromQuery(Name = "keyword")] public string? Keyword { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            RuleFor(q => q.Keyword).MaximumLength(100);
            RuleFor(q => q.Search).MaximumLength(100);
            RuleFor(q => q.Search).Null().When(q => q.Keyword is not null && q.Keyword != q.Search)
                .WithMessage("keyword and search are the same filter; give one of them");
            RuleFor(q => q.Category).MaximumLength(64);
        }
    }

    public sealed class Handler(Database database) : IQueryHandler<Query, Paged<InterfaceSummary>>
    {
        public async ValueTask<Paged<InterfaceSummary>> Handle(Query query, CancellationToken ct)
        {
            var where = new StringBuilder("WHERE 1 = 1");
            if (!string.IsNullOrEmpty(query.Category)) where.Append(" AND i.category = @category");
            if (!string.IsNullOrWhiteSpace(query.Words))
                where.Append(" AND (i.name LIKE @keyword OR i.display_name LIKE @keyword OR i.description LIKE @keyword)");
            var args = new { category = query.Category, keyword = Like.Contains(query.Words?.Trim() ?? ""), limit = query.Paging.PageSize, offset = query.Paging.Offset };
            await using var connection = await database.OpenAsync(ct);
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM interfaces i {where}", args, cancellationToken: ct));
            var items = (await connection.QueryAsync<InterfaceSummary>(new CommandDefinition($"""
                SELECT i.id, i.name, i.display_name AS DisplayName, i.category, i.description,
                  (SELECT COUNT(*) FROM interface_parameters p WHERE p.interface_id = i.id) AS ParameterCount,
                  i.in_registry AS InRegistry, i.used_by_scripts AS UsedByScripts
                FROM interfaces i {where} ORDER BY i.category, i.name LIMIT @limit OFFSET @offset
                """, args, cancellationToken: ct))).AsList();
            return Paged<InterfaceSummary>.Of(items, total, query.Paging);
        }
    }

    /// <summary>
    /// <c>search</c> is keyword's other name, the one other catalogues use: read from the query as it is, and left out of
    /// the OpenAPI document, so that generated clients have one name for the one filter.
    /// </summary>
    internal static async Task<Ok<Envelope<Paged<InterfaceSummary>>>> Endpoint([AsParameters] Parameters p, HttpRequest request, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<InterfaceSummary>>.Success(await mediator.Send(
            new Query(p.ToRequest(), p.Category, p.Keyword, request.Query.TryGetValue("search", out var search) ? search.ToString() : null), ct)));
}
