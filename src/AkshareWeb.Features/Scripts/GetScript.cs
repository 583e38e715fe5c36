using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Scripts;

public static class GetScript
{
    public sealed record Query(string ScriptId) : IQuery<ScriptDetail>;

    public sealed class Handler(Database database) : IQueryHandler<Query, ScriptDetail>
    {
        public async ValueTask<ScriptDetail> Handle(Query query, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var row = await connection.QuerySingleOrDefaultAsync<(long Id, bool IsActive, string Definition, string FilePath, DateTime CreatedAt, DateTime UpdatedAt, string? BrokenReason)?>(new CommandDefinition(
                "SELECT id, is_active, CAST(definition AS CHAR), file_path, created_at, updated_at, broken_reason FROM data_scripts WHERE script_id = @id",
                new { id = query.ScriptId }, cancellationToken: ct)) ?? throw ApiError.NotFound("script");
            var s = DataScriptLibrary.Deserialize(row.Definition);
            return new ScriptDetail(row.Id, s.Id, s.Name, s.Category, s.Frequency, row.IsActive, s.Description, s.Interface,
                $"data-scripts/{row.FilePath}", s.TargetTable, s.WriteMode, s.KeyColumns, s.ExtraColumns,
                s.Parameters.Select(ParameterView.Of).ToList(), row.FilePath, row.CreatedAt, row.UpdatedAt, row.BrokenReason);
        }
    }

    internal static async Task<Ok<Envelope<ScriptDetail>>> Endpoint(string scriptId, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<ScriptDetail>.Success(await mediator.Send(new Query(scriptId), ct)));
}
