using FluentValidation;
using MimeKit;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

/// <summary>An email channel's server, as a request gives it; <c>password</c> is stored encrypted and never returned.</summary>
public sealed record SmtpSettings(string? Host, int? Port, string? Security, string? Username, string? Password, string? From, IReadOnlyList<string>? To);

/// <summary>The fields that creating and updating a channel share.</summary>
public interface IChannelFields
{
    string? Name { get; }
    string? Type { get; }
    string? Url { get; }
    string? Secret { get; }
    IReadOnlyList<string>? Events { get; }
    string? Scope { get; }
    SmtpSettings? Smtp { get; }
    bool? IsActive { get; }
}

/// <summary>
/// A channel's rules: each field on its own (a validator, 422 naming the field), then the channel as it will be
/// stored (<see cref="DraftAsync"/>): what its type needs, who may hear of everything, and whether its target may be
/// reached at all (<see cref="TargetGuard"/>).
/// </summary>
public static class ChannelRules
{
    public const int NameMax = 100;
    public const int UrlMax = 2000;
    public const int SecretMax = 500;
    public const int MaxRecipients = 20;

    public static void Apply<T>(AbstractValidator<T> v, bool requireAll)
        where T : IChannelFields
    {
        if (requireAll)
        {
            v.RuleFor(c => c.Name).NotEmpty();
            v.RuleFor(c => c.Type).NotEmpty();
            v.RuleFor(c => c.Events).NotNull();
        }

        v.RuleFor(c => c.Name).NotEmpty().MaximumLength(NameMax).When(c => c.Name is not null);
        v.RuleFor(c => c.Type).Must(t => t is null || ChannelTypes.All.Contains(t))
            .WithMessage("type must be one of " + string.Join(", ", ChannelTypes.All));
        v.RuleFor(c => c.Scope).Must(s => s is null || ChannelScopes.Values.Contains(s)).WithMessage("scope must be mine or all");
        v.RuleFor(c => c.Url).MaximumLength(UrlMax).Must(u => u is null || UrlProblem(u) is null).WithMessage((_, u) => UrlProblem(u!) ?? "");
        v.RuleFor(c => c.Secret).MaximumLength(SecretMax);
        v.RuleFor(c => c.Events).Must(e => e is null || e.Count > 0).WithMessage("events must name at least one event")
            .Must(e => e is null || e.All(NotificationEvents.All.Contains)).WithMessage("events may hold " + string.Join(", ", NotificationEvents.All))
            .Must(e => e is null || e.Distinct().Count() == e.Count).WithMessage("events must not repeat an event");
        v.RuleFor(c => c.Smtp!.Host).NotEmpty().MaximumLength(255).Matches(@"^[A-Za-z0-9.\-:\[\]]+$").WithMessage("smtp.host must be a host name or an IP address")
            .OverridePropertyName("smtp.host").When(c => c.Smtp is not null);
        v.RuleFor(c => c.Smtp!.Port).InclusiveBetween(1, 65535).OverridePropertyName("smtp.port").When(c => c.Smtp is not null);
        v.RuleFor(c => c.Smtp!.Security).Must(s => s is null || SmtpSecurity.All.Contains(s)).WithMessage("smtp.security must be none, starttls or ssl")
            .OverridePropertyName("smtp.security").When(c => c.Smtp is not null);
        v.RuleFor(c => c.Smtp!.Username).MaximumLength(200).OverridePropertyName("smtp.username").When(c => c.Smtp is not null);
        v.RuleFor(c => c.Smtp!.Password).MaximumLength(SecretMax).OverridePropertyName("smtp.password").When(c => c.Smtp is not null);
        v.RuleFor(c => c.Smtp!.From).NotEmpty().MaximumLength(254).Must(Mailbox).WithMessage("smtp.from must be an email address")
            .OverridePropertyName("smtp.from").When(c => c.Smtp is not null);
        v.RuleFor(c => c.Smtp!.To).NotEmpty().Must(t => t is null || t.Count <= MaxRecipients).WithMessage($"smtp.to takes at most {MaxRecipients} addresses")
            .Must(t => t is null || t.All(a => a is { Length: <= 254 } && Mailbox(a))).WithMessage("smtp.to must hold email addresses")
            .OverridePropertyName("smtp.to").When(c => c.Smtp is not null);
    }

    private static bool Mailbox(string? address) =>
        address is not null && MailboxAddress.TryParse(address, out var parsed) && parsed.Address.Contains('@', StringComparison.Ordinal);

    private static string? UrlProblem(string url) =>
        !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            ? "url must be an absolute http or https URL"
            : uri.UserInfo.Length > 0 ? "url must not carry a user name or password (a signing secret goes in secret)"
            : null;

    /// <summary>
    /// The channel as it will be stored, from the request's <paramref name="fields"/> over the stored
    /// <paramref name="current"/> (null when creating), or the error that stops it: 403 for a user asking to hear of
    /// everything, 422 naming the field otherwise. The target is checked only when the request gives one.
    /// </summary>
    public static async Task<ChannelStore.ChannelValues> DraftAsync(IChannelFields fields, ChannelStore.Row? current, Caller caller, TargetGuard guard, CancellationToken ct)
    {
        var type = current?.Type ?? fields.Type!;
        if (current is not null && fields.Type is not null && fields.Type != current.Type)
        {
            throw ApiError.Validation("type", "a channel's type cannot change; create another channel");
        }

        var scope = fields.Scope ?? current?.Scope ?? ChannelScopes.Mine;
        if (scope == ChannelScopes.All && fields.Scope == ChannelScopes.All && !caller.IsAdmin)
        {
            throw ApiError.Forbidden("only admins may have channels that hear of everything (scope all)");
        }

        if (scope == ChannelScopes.All && current is not null && current.UserId != caller.Id && current.Scope != ChannelScopes.All)
        {
            throw ApiError.Validation("scope", "scope all is for an admin's own channels: another user's channel hears of their own tasks and downloads");
        }

        var events = fields.Events ?? (current is null ? [] : current.ToView().Events);
        var secret = fields.Secret;
        if (ChannelTypes.TakesNoSecret(type) && !string.IsNullOrEmpty(secret))
        {
            throw ApiError.Validation("secret", $"{type} robots take no signing secret: the key in their URL is the credential");
        }

        var name = fields.Name?.Trim() ?? current!.Name;
        var active = fields.IsActive ?? current?.IsActive ?? true;
        if (type == ChannelTypes.Email)
        {
            if (fields.Url is not null) throw ApiError.Validation("url", "an email channel takes smtp, not url");
            if (!string.IsNullOrEmpty(secret)) throw ApiError.Validation("secret", "an email channel takes smtp.password, not secret");
            var smtp = await SmtpAsync(fields.Smtp, current, guard, ct);
            return new ChannelStore.ChannelValues(name, type, scope, events, null, null, smtp.Server, smtp.Password, active);
        }

        if (fields.Smtp is not null) throw ApiError.Validation("smtp", $"a {type} channel takes url, not smtp");
        if (fields.Url is null && current is null) throw ApiError.Validation("url", $"a {type} channel needs the url of its webhook");
        Uri? url = null;
        if (fields.Url is not null)
        {
            url = new Uri(fields.Url);
            await CheckTargetAsync(guard, "url", url.IdnHost, ct);
        }

        return new ChannelStore.ChannelValues(name, type, scope, events, url, secret, null, null, active);
    }

    private static async Task<(SmtpServer? Server, string? Password)> SmtpAsync(SmtpSettings? given, ChannelStore.Row? current, TargetGuard guard, CancellationToken ct)
    {
        var stored = current?.SmtpServer;
        if (given is null)
        {
            if (stored is null) throw ApiError.Validation("smtp", "an email channel needs smtp: host, port, from and to");
            return (stored, null);
        }

        var server = new SmtpServer(given.Host!.Trim(), given.Port ?? 587, given.Security ?? SmtpSecurity.StartTls,
            string.IsNullOrEmpty(given.Username) ? null : given.Username, given.From!, given.To!);
        var hasPassword = !string.IsNullOrEmpty(given.Password) || (given.Password is null && current?.SmtpPasswordProtected is not null);
        // Like the warehouse password: the stored one is never sent to another server or for another user, so a
        // token that can edit the channel cannot learn it by pointing the channel elsewhere.
        if (given.Password is null && current?.SmtpPasswordProtected is not null && stored is not null
            && !(string.Equals(stored.Host, server.Host, StringComparison.OrdinalIgnoreCase) && stored.Port == server.Port && stored.Username == server.Username))
        {
            throw ApiError.Validation("smtp.password", "a new host, port or username needs its password; the stored one is kept only for the same server and user");
        }

        if (hasPassword && server.Security == SmtpSecurity.None)
        {
            throw ApiError.Validation("smtp.password", "a password is sent only over TLS: use smtp.security starttls or ssl");
        }

        if (hasPassword && server.Username is null) throw ApiError.Validation("smtp.username", "a password needs its username");
        await CheckTargetAsync(guard, "smtp.host", server.Host, ct);
        return (server, given.Password);
    }

    private static async Task CheckTargetAsync(TargetGuard guard, string field, string host, CancellationToken ct)
    {
        try
        {
            await guard.AddressesAsync(host, ct);
        }
        catch (TargetRefusedException e)
        {
            throw ApiError.Validation(field, e.Message);
        }
    }
}
