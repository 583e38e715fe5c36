using System.Security.Claims;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

public static class UpdateChannel
{
    /// <summary>
    /// Fields left out keep their value; so do <c>url</c>, <c>secret</c> and <c>smtp.password</c> (an empty secret or
    /// password removes it). A stored SMTP password is kept only for the same host, port and username.
    /// </summary>
    public sealed record Body(
        string? Name, string? Type, string? Url, string? Secret, IReadOnlyList<string>? Events, string? Scope, SmtpSettings? Smtp, bool? IsActive)
        : IChannelFields;

    public sealed record Command(long ChannelId, Body Changes, Caller Caller) : ICommand<ChannelView>;

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            var body = new InlineValidator<Body>();
            ChannelRules.Apply(body, requireAll: false);
            RuleFor(c => c.Changes).SetValidator(body).OverridePropertyName("");
        }
    }

    public sealed class Handler(ChannelStore channels, TargetGuard guard) : ICommandHandler<Command, ChannelView>
    {
        public async ValueTask<ChannelView> Handle(Command command, CancellationToken ct)
        {
            var current = await channels.VisibleAsync(command.ChannelId, command.Caller, ct);
            var values = await ChannelRules.DraftAsync(command.Changes, current, command.Caller, guard, ct);
            return (await channels.SaveAsync(current.Id, current.UserId, values, ct)).ToView();
        }
    }

    internal static async Task<Ok<Envelope<ChannelView>>> Endpoint(long channelId, Body body, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<ChannelView>.Success(await mediator.Send(new Command(channelId, body, Caller.Of(user)), ct)));
}
