using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Interfaces;

public static class SyncInterfaces
{
    public sealed record Command : ICommand<SyncReport>;

    public sealed class Handler(InterfaceCatalog catalog) : ICommandHandler<Command, SyncReport>
    {
        public async ValueTask<SyncReport> Handle(Command command, CancellationToken ct) => await catalog.SyncAsync(ct);
    }

    internal static async Task<Ok<Envelope<SyncReport>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<SyncReport>.Success(await mediator.Send(new Command(), ct)));
}
