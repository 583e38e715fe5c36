using System.Security.Claims;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

public static class CreateChannel
{
    public sealed record Command(
        string? Name, string? Type, string? Url, string? Secret, IReadOnlyList<string>? Events, string? Scope, SmtpSettings? Smtp, bool? IsActive)
        : ICommand<ChannelView>, IChannelFields
    {
        internal Caller Caller { get; init; }
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => ChannelRules.Apply(this, requireAll: true);
    }

    /// <summary>The caller's channel: <c>mine</c> hears of their own tasks and downloads, <c>all</c> (admins only) of everything.</summary>
    public sealed class Handler(ChannelStore channels, TargetGuard guard) : ICommandHandler<Command, ChannelView>
    {
        public async ValueTask<ChannelView> Handle(Command command, CancellationToken ct)
        {
            var values = await ChannelRules.DraftAsync(command, null, command.Caller, guard, ct);
            return (await channels.SaveAsync(null, command.Caller.Id, values, ct)).ToView();
        }
    }

    internal static async Task<Created<Envelope<ChannelView>>> Endpoint(Command command, ClaimsPrincipal user, IMediator mediator, CancellationToken ct)
    {
        var channel = await mediator.Send(command with { Caller = Caller.Of(user) }, ct);
        return TypedResults.Created($"/api/notifications/channels/{channel.Id}", Envelope<ChannelView>.Success(channel));
    }
}
