using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Interfaces;

public static class GetInterfaceParameters
{
    public sealed record Query(long InterfaceId) : IQuery<IReadOnlyList<ParameterView>>;

    public sealed class Handler(Database database) : IQueryHandler<Query, IReadOnlyList<ParameterView>>
    {
        public async ValueTask<IReadOnlyList<ParameterView>> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            _ = await InterfaceCatalog.FindAsync(connection, query.InterfaceId, ct) ?? throw ApiError.NotFound("interface");
            return (await InterfaceCatalog.ParametersAsync(connection, query.InterfaceId, ct)).Select(ParameterView.Of).ToList();
        }
    }

    internal static async Task<Ok<Envelope<IReadOnlyList<ParameterView>>>> Endpoint(long interfaceId, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<IReadOnlyList<ParameterView>>.Success(await mediator.Send(new Query(interfaceId), ct)));
}
