using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

public static class TestDatabaseConnection
{
    /// <summary>Without <c>password</c>, the stored one is used for the same host, port and user (as a save keeps it), so
    /// a console that never learns the password can test the connection it shows; any other server is tried without one.</summary>
    public sealed record Command(string? Host, int? Port, string? Database, string? Username, string? Password) : ICommand<Result>, IDatabaseLocation;

    /// <summary><c>connected</c> false comes with <c>error</c>, the server's or the time-out's words.</summary>
    public sealed record Result(bool Connected, long LatencyMs, string? ServerVersion, string? Error);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => DatabaseLocationRules.Apply(this);
    }

    public sealed class Handler(WarehouseConnection warehouse) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken ct)
        {
            var password = string.IsNullOrEmpty(command.Password) ? warehouse.StoredPasswordFor(command) : command.Password;
            var probe = await WarehouseConnection.ProbeAsync(WarehouseConnection.ConnectionStringFor(
                command.Host!, command.Port!.Value, command.Database!, command.Username!, password), ct);
            return new Result(probe.Connected, probe.LatencyMs, probe.ServerVersion, probe.Error);
        }
    }

    internal static async Task<Ok<Envelope<Result>>> Endpoint(Command command, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Result>.Success(await mediator.Send(command, ct)));
}
