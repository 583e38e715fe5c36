namespace AkshareWeb.Features.Auth;

/// <summary>Configuration section <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary><c>open</c> (anyone may register), <c>closed</c> (register answers 403) or <c>approval</c>
    /// (new accounts stay inactive until an admin activates them).</summary>
    public string Registration { get; set; } = RegistrationModes.Open;
}

public static class RegistrationModes
{
    public const string Open = "open";
    public const string Closed = "closed";
    public const string Approval = "approval";
    public static readonly string[] All = [Open, Closed, Approval];
}
