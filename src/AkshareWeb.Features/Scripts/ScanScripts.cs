using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Scripts;

public static class ScanScripts
{
    public sealed record Command : ICommand<ScanReport>;

    public sealed class Handler(DataScriptLibrary library) : ICommandHandler<Command, ScanReport>
    {
        public async ValueTask<ScanReport> Handle(Command command, CancellationToken ct) => await library.ScanAsync(ct);
    }

    internal static async Task<Ok<Envelope<ScanReport>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<ScanReport>.Success(await mediator.Send(new Command(), ct)));
}
