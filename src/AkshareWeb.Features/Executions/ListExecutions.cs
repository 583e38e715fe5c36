using System.Security.Claims;
using System.Text;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class ListExecutions
{
    public sealed record Query(PageRequest Paging, long? TaskId, string? Status, ClaimsPrincipal Caller) : IQuery<Paged<ExecutionView>>;

    public sealed class Parameters : PageParameters
    {
        [FromQuery(Name = "task_id")] public long? TaskId { get; init; }
        /// <summary>pending, running, completed, failed, cancelled or timeout.</summary>
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
            var where = new StringBuilder($"WHERE {ExecutionRecords.VisibleTo(query.Caller)}");
            if (query.TaskId is not null) where.Append(" AND task_id = @taskId");
            if (query.Status is not null) where.Append(" AND status = @status");
            var args = new { callerId = query.Caller.Id(), taskId = query.TaskId, status = query.Status, limit = query.Paging.PageSize, offset = query.Paging.Offset };
            await using var connection = await database.OpenAsync(ct);
            var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM executions {where}", args, cancellationToken: ct));
            var items = await ExecutionRecords.QueryAsync(connection,
                $"SELECT {ExecutionRecords.Columns} FROM executions {where} ORDER BY id DESC LIMIT @limit OFFSET @offset", args, ct);
            return Paged<ExecutionView>.Of(items, total, query.Paging);
        }
    }

    internal static async Task<Ok<Envelope<Paged<ExecutionView>>>> Endpoint([AsParameters] Parameters p, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Paged<ExecutionView>>.Success(await mediator.Send(
            new Query(p.ToRequest(), p.TaskId, p.Status, user), ct)));
}
