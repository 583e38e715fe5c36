using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

public static class GetTask
{
    public sealed record Query(long TaskId, Caller Caller) : IQuery<TaskView>;

    public sealed class Handler(Database database, TaskStore tasks) : IQueryHandler<Query, TaskView>
    {
        public async ValueTask<TaskView> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var task = TaskStore.Visible(await TaskStore.FindAsync(connection, null, query.TaskId, false, ct), query.Caller);
            return await tasks.ViewAsync(task, ct);
        }
    }

    internal static async Task<Ok<Envelope<TaskView>>> Endpoint(long taskId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TaskView>.Success(await mediator.Send(new Query(taskId, Caller.Of(user)), ct)));
}
