namespace AkshareWeb.Features.Auth;

/// <summary>Configuration section <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary><c>open</c> (anyone may register), <c>closed</c> (register answers 403) or <c>approval</c>
    /// (new accounts stay inactive until an admin activates them).</summary>
    public string Registration { get; set; } = RegistrationModes.Open;

    /// <summary>PBKDF2 iterations of a new password hash. At least <see cref="MinimumPasswordHashIterations"/>; fewer
    /// only in the Testing environment, where a suite that signs in thousands of users would otherwise spend a quarter
    /// of its time hashing. A stored hash keeps its own count, so changing this never locks anyone out.</summary>
    public int PasswordHashIterations { get; set; } = MinimumPasswordHashIterations;

    public const int MinimumPasswordHashIterations = 100_000;
}

public static class RegistrationModes
{
    public const string Open = "open";
    public const string Closed = "closed";
    public const string Approval = "approval";
    public static readonly string[] All = [Open, Closed, Approval];
}
