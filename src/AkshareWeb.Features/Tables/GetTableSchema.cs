using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tables;

public static class GetTableSchema
{
    public sealed record Query(string TableName) : IQuery<GetTable.SchemaInfo>;

    public sealed class Handler(ManagedTables tables) : IQueryHandler<Query, GetTable.SchemaInfo>
    {
        public async ValueTask<GetTable.SchemaInfo> Handle(Query query, CancellationToken ct) =>
            new((await tables.ResolveAsync(query.TableName, ct)).Columns);
    }

    internal static async Task<Ok<Envelope<GetTable.SchemaInfo>>> Endpoint(string tableName, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<GetTable.SchemaInfo>.Success(await mediator.Send(new Query(tableName), ct)));
}
