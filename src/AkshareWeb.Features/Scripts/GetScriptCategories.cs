using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Scripts;

public static class GetScriptCategories
{
    public sealed record Query : IQuery<IReadOnlyList<string>>;

    /// <summary>The categories that have registered scripts, in the library's order.</summary>
    public sealed class Handler(Database database) : IQueryHandler<Query, IReadOnlyList<string>>
    {
        public async ValueTask<IReadOnlyList<string>> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var present = (await connection.QueryAsync<string>(new CommandDefinition("SELECT DISTINCT category FROM data_scripts", cancellationToken: ct))).ToHashSet();
            return DataScriptFiles.Categories.Where(present.Contains).Concat(present.Except(DataScriptFiles.Categories).Order()).ToList();
        }
    }

    internal static async Task<Ok<Envelope<IReadOnlyList<string>>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<IReadOnlyList<string>>.Success(await mediator.Send(new Query(), ct)));
}
