using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Scripts;

public static class ListScripts
{
    public sealed record Query(PageRequest Paging, string? Category, bool? IsActive) : IQuery<Paged<ScriptSummary>>;

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "category")] public string? Category { get; init; }
        [FromQuery(Name = "is_active")] public bool? IsActive { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            RuleFor(q => q.Category).MaximumLength(32);
        }
    }

    public sealed class Handler(Database database) : IQueryHandler<Query, Paged<ScriptSummary>>
    {
        public async ValueTask<Paged<ScriptSummary>> Handle(Query query, CancellationToken ct)
        {
            var where = new StringBuilder("WHERE 1 = 1");
            if (query.Category is not null) where.Append(" AND category = @category");
            if (query.IsActive is not null) where.Append(" AND is_active = @isActive");
            var args = new { category = query.Category, isActive = query.IsActive, limit = query.Paging.PageSize, offset = query.Paging.Offset };
            await using var connection = await database.OpenAsync(ct);
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM data_scripts {where}", args, cancellationToken: ct));
            var items = (await connection.QueryAsync<ScriptSummary>(new CommandDefinition($"""
                SELECT id, script_id AS ScriptId, name AS ScriptName, category, frequency, is_active AS IsActive, description,
                  interface_name AS Interface, target_table AS TargetTable, updated_at AS UpdatedAt, broken_reason AS BrokenReason
                FROM data_scripts {where} ORDER BY category, script_id LIMIT @limit OFFSET @offset
                """, args, cancellationToken: ct))).AsList();
            return Paged<ScriptSummary>.Of(items, total, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<ScriptSummary>>>> Endpoint([AsParameters] Parameters p, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<ScriptSummary>>.Success(await mediator.Send(new Query(p.ToRequest(), p.Category, p.IsActive), ct)));
}
