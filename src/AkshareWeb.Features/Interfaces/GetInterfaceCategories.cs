using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Interfaces;

public static class GetInterfaceCategories
{
    public sealed record Query : IQuery<IReadOnlyList<InterfaceCategory>>;

    public sealed class Handler(Database database) : IQueryHandler<Query, IReadOnlyList<InterfaceCategory>>
    {
        public async ValueTask<IReadOnlyList<InterfaceCategory>> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var counts = await connection.QueryAsync<(string Category, long Count)>(new CommandDefinition(
                "SELECT category, COUNT(*) FROM interfaces GROUP BY category ORDER BY COUNT(*) DESC, category", cancellationToken: ct));
            return counts.Select(c => InterfaceCatalog.Categories.TryGetValue(c.Category, out var names)
                ? new InterfaceCategory(c.Category, names.DisplayName, names.Description, c.Count)
                : new InterfaceCategory(c.Category, c.Category, c.Category, c.Count)).ToList();
        }
    }

    internal static async Task<Ok<Envelope<IReadOnlyList<InterfaceCategory>>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<IReadOnlyList<InterfaceCategory>>.Success(await mediator.Send(new Query(), ct)));
}
