using System.Security.Claims;
using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;

namespace AkshareWeb.Features.Tasks;

public static class ListTasks
{
    public sealed record Query(PageRequest Paging, bool? IsActive, Caller Caller) : IQuery<Paged<TaskView>>;

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "is_active")] public bool? IsActive { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => this.RuleForPaging(q => q.Paging);
    }

    public sealed class Handler(Database database, TaskStore tasks, ExecutionReads executions) : IQueryHandler<Query, Paged<TaskView>>
    {
        public async ValueTask<Paged<TaskView>> Handle(Query query, CancellationToken ct)
        {
            var where = new StringBuilder("WHERE 1 = 1");
            if (!query.Caller.IsAdmin) where.Append(" AND t.owner_id = @callerId");
            if (query.IsActive is not null) where.Append(" AND t.is_active = @isActive");
            var args = new { callerId = query.Caller.Id, isActive = query.IsActive, limit = query.Paging.PageSize, offset = query.Paging.Offset };

            await using var connection = await database.OpenAsync(ct);
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM scheduled_tasks t {where}", args, cancellationToken: ct));
            var rows = (await connection.QueryAsync<TaskRow>(new CommandDefinition(
                $"SELECT {TaskStore.Columns} FROM scheduled_tasks t {where} ORDER BY t.id LIMIT @limit OFFSET @offset", args, cancellationToken: ct))).AsList();
            var lastStatuses = await executions.LatestStatusesAsync(rows.Select(r => r.Id).ToArray(), ct);
            var items = rows.Select(r => tasks.View(r, lastStatuses.GetValueOrDefault(r.Id))).ToList();
            return Paged<TaskView>.Of(items, total, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<TaskView>>>> Endpoint([AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<TaskView>>.Success(await mediator.Send(
            new Query(p.ToRequest(), p.IsActive, Caller.Of(user)), ct)));
}
