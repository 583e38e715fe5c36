using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

public static class DeleteChannel
{
    public sealed record Command(long ChannelId, Caller Caller) : ICommand<Unit>;

    /// <summary>Removes the channel with its deliveries: what was still queued for it is not sent.</summary>
    public sealed class Handler(ChannelStore channels) : ICommandHandler<Command, Unit>
    {
        public async ValueTask<Unit> Handle(Command command, CancellationToken ct)
        {
            var channel = await channels.VisibleAsync(command.ChannelId, command.Caller, ct);
            await channels.DeleteAsync(channel.Id, ct);
            return Unit.Value;
        }
    }

    internal static async Task<Ok<Envelope>> Endpoint(long channelId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        await mediator.Send(new Command(channelId, Caller.Of(user)), ct);
        return TypedResults.Ok(Envelope.Success());
    }
}
