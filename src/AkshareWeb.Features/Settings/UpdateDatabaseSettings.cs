using System.Security.Claims;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

public static class UpdateDatabaseSettings
{
    /// <summary>Without <c>password</c> the current one is kept, but only for the same host, port and user.</summary>
    public sealed record Command(string? Host, int? Port, string? Database, string? Username, string? Password) : ICommand<WarehouseLocation>, IDatabaseLocation
    {
        internal Caller Caller { get; init; }
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => DatabaseLocationRules.Apply(this);
    }

    public sealed class Handler(WarehouseConnection warehouse) : ICommandHandler<Command, WarehouseLocation>
    {
        public async ValueTask<WarehouseLocation> Handle(Command command, CancellationToken ct)
        {
            var password = string.IsNullOrEmpty(command.Password) ? warehouse.StoredPasswordFor(command) : command.Password;
            if (password is null)
            {
                throw ApiError.Validation("password",
                    "a new host, port or username needs its password; the stored one is kept only for the same server and user");
            }

            var connectionString = WarehouseConnection.ConnectionStringFor(command.Host!, command.Port!.Value, command.Database!, command.Username!, password);
            // Never store a warehouse that does not answer: the next scheduled run would fail on it.
            var probe = await WarehouseConnection.ProbeAsync(connectionString, ct);
            if (!probe.Connected)
            {
                throw new ApiError(400, ErrorCodes.Database, "cannot connect to that database; nothing was changed", probe.Error);
            }

            await warehouse.SaveAsync(connectionString, command.Caller.Id, ct);
            return warehouse.Current();
        }
    }

    internal static async Task<Ok<Envelope<WarehouseLocation>>> Endpoint(Command command, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<WarehouseLocation>.Success(await mediator.Send(command with { Caller = Caller.Of(user) }, ct)));
}
