namespace AkshareWeb.Features.Accounts;

/// <summary>The hashing part of configuration section <c>Auth</c>.</summary>
public sealed class PasswordHashOptions
{
    public const string Section = "Auth";

    public const int MinimumIterations = 100_000;

    /// <summary><c>Auth:PasswordHashIterations</c>: PBKDF2 iterations of a new password hash. At least
    /// <see cref="MinimumIterations"/>; fewer only in the Testing environment, where a suite that signs in thousands of
    /// users would otherwise spend a quarter of its time hashing. A stored hash keeps its own count, so changing this
    /// never locks anyone out.</summary>
    public int PasswordHashIterations { get; set; } = MinimumIterations;
}
