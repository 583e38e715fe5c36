using System.Text.Json;
using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Interfaces;

public static class GetInterface
{
    public sealed record Query(long InterfaceId) : IQuery<InterfaceDetail>;

    public sealed class Handler(Database database) : IQueryHandler<Query, InterfaceDetail>
    {
        public async ValueTask<InterfaceDetail> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var row = await InterfaceCatalog.FindAsync(connection, query.InterfaceId, ct) ?? throw ApiError.NotFound("interface");
            var outputs = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT CAST(outputs AS CHAR) FROM interfaces WHERE id = @id", new { id = row.Id }, cancellationToken: ct));
            var parameters = await InterfaceCatalog.ParametersAsync(connection, row.Id, ct);
            JsonElement? outputsJson = null;
            if (outputs is not null)
            {
                using var document = JsonDocument.Parse(outputs);
                outputsJson = document.RootElement.Clone();
            }

            return new InterfaceDetail(row.Id, row.Name, row.DisplayName, row.Category, row.Description, row.Module, row.Url, row.LimitDesc,
                row.Documented, row.Example, outputsJson, row.InRegistry, row.UsedByScripts, parameters.Select(ParameterView.Of).ToList());
        }
    }

    internal static async Task<Ok<Envelope<InterfaceDetail>>> Endpoint(long interfaceId, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<InterfaceDetail>.Success(await mediator.Send(new Query(interfaceId), ct)));
}
