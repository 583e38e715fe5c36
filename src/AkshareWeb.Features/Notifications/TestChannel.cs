using System.Security.Claims;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

public static class TestChannel
{
    public sealed record Command(long ChannelId, Caller Caller) : ICommand<Result>;

    /// <summary>Whether the test message arrived, and if not why (the delivery is listed with event <c>test</c>).</summary>
    public sealed record Result(long DeliveryId, bool Delivered, string? Error);

    /// <summary>
    /// Sends a test message now, inside the request, through the same checks and signatures as every message; it
    /// counts toward the channel's messages per minute (429 once they are used up) and is not retried.
    /// </summary>
    public sealed class Handler(ChannelStore channels, DeliveryQueue queue, DeliveryWorker worker, IOptions<NotificationOptions> options)
        : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken ct)
        {
            var channel = await channels.VisibleAsync(command.ChannelId, command.Caller, ct);
            var cap = Math.Max(1, options.Value.MaxPerChannelPerMinute);
            var message = await queue.ClaimTestAsync(channel.Id, $"test message for channel {channel.Name}",
                [$"This {channel.Type} channel reaches you: notifications of {string.Join(", ", channel.ToView().Events)} will arrive here."], cap, worker.Worker, ct);
            if (message is null)
            {
                var wait = await queue.SecondsUntilRoomAsync(channel.Id, ct);
                throw new ApiError(429, ErrorCodes.General,
                    $"the channel has had its {cap} messages of the last minute (Notifications:MaxPerChannelPerMinute); try again in {wait} s") { RetryAfterSeconds = wait };
            }

            var outcome = await worker.SendOneAsync(channels.Target(channel), message, ct);
            return new Result(message.DeliveryId, outcome.Sent, outcome.Error);
        }
    }

    internal static async Task<Ok<Envelope<Result>>> Endpoint(long channelId, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Result>.Success(await mediator.Send(new Command(channelId, Caller.Of(user)), ct)));
}
