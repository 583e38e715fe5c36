using Dapper;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Scripts;

public static class ToggleScript
{
    public sealed record Command(string ScriptId) : ICommand<Toggled>;

    public sealed record Toggled(long Id, string ScriptId, bool IsActive);

    /// <summary>Flips is_active. A script whose file is gone cannot be switched on (409): there is nothing to run.</summary>
    public sealed class Handler(Database database, TimeProvider time) : ICommandHandler<Command, Toggled>
    {
        public async ValueTask<Toggled> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var row = await connection.QuerySingleOrDefaultAsync<(long Id, bool IsActive, bool FileMissing)?>(new CommandDefinition(
                "SELECT id, is_active, file_missing FROM data_scripts WHERE script_id = @id FOR UPDATE", new { id = command.ScriptId }, transaction, cancellationToken: ct))
                ?? throw ApiError.NotFound("script");
            if (!row.IsActive && row.FileMissing)
            {
                throw ApiError.Conflict("the script's file is gone from data-scripts/; restore it and scan");
            }

            await connection.ExecuteAsync(new CommandDefinition("UPDATE data_scripts SET is_active = @active, updated_at = @now WHERE id = @id",
                new { active = !row.IsActive, now = time.GetUtcNow().UtcDateTime, id = row.Id }, transaction, cancellationToken: ct));
            await transaction.CommitAsync(ct);
            return new Toggled(row.Id, command.ScriptId, !row.IsActive);
        }
    }

    internal static async Task<Ok<Envelope<Toggled>>> Endpoint(string scriptId, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Toggled>.Success(await mediator.Send(new Command(scriptId), ct)));
}
