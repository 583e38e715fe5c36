using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

public static class GetSettings
{
    public sealed record Query : IQuery<ExecutionSettings>;

    public sealed class Handler(SystemSettings settings) : IQueryHandler<Query, ExecutionSettings>
    {
        public async ValueTask<ExecutionSettings> Handle(Query query, CancellationToken ct) =>
            await settings.GetExecutionSettingsAsync(ct);
    }

    internal static async Task<Ok<Envelope<ExecutionSettings>>> Endpoint(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<ExecutionSettings>.Success(await mediator.Send(new Query(), ct)));
}
