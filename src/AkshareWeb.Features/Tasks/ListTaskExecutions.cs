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

public static class ListTaskExecutions
{
    public sealed record Query(long TaskId, PageRequest Paging, string? Status, ClaimsPrincipal Caller) : IQuery<Paged<ExecutionView>>;

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "status")] public string? Status { get; init; }
    }

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            RuleFor(q => q.Status).Must(s => s is null || ExecutionStatuses.All.Contains(s))
                .WithMessage("status must be one of pending, running, completed, failed, cancelled, timeout");
        }
    }

    public sealed class Handler(Database database) : IQueryHandler<Query, Paged<ExecutionView>>
    {
        public async ValueTask<Paged<ExecutionView>> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            TaskStore.Visible(await TaskStore.FindAsync(connection, null, query.TaskId, false, ct), query.Caller);
            var where = new StringBuilder("WHERE task_id = @taskId");
            if (query.Status is not null) where.Append(" AND status = @status");
            var args = new { taskId = query.TaskId, status = query.Status, limit = query.Paging.PageSize, offset = query.Paging.Offset };
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM executions {where}", args, cancellationToken: ct));
            var items = await ExecutionRecords.QueryAsync(connection,
                $"SELECT {ExecutionRecords.Columns} FROM executions {where} ORDER BY id DESC LIMIT @limit OFFSET @offset", args, ct);
            return Paged<ExecutionView>.Of(items, total, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<ExecutionView>>>> Endpoint(long taskId, [AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<ExecutionView>>.Success(await mediator.Send(
            new Query(taskId, p.ToRequest(), p.Status, user), ct)));
}
