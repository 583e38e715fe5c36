using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

public static class GetDatabaseSettings
{
    public sealed record Query : IQuery<WarehouseLocation>;

    public sealed class Handler(WarehouseConnection connection) : IQueryHandler<Query, WarehouseLocation>
    {
        public ValueTask<WarehouseLocation> Handle(Query query, CancellationToken ct) => ValueTask.FromResult(connection.Current());
    }

    internal static async Task<Ok<Envelope<WarehouseLocation>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<WarehouseLocation>.Success(await mediator.Send(new Query(), ct)));
}
