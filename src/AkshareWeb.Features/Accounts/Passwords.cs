using Microsoft.AspNetCore.Identity;

namespace AkshareWeb.Features.Accounts;

/// <summary>
/// The framework's PasswordHasher (PBKDF2-HMAC-SHA512, 100,000 iterations, random salt). A login for an unknown
/// user verifies against a real hash too, so both failures cost the same time and do not tell names apart.
/// </summary>
public sealed class Passwords
{
    private static readonly object Nobody = new();
    private readonly PasswordHasher<object> hasher = new();
    private readonly Lazy<string> decoy;

    public Passwords()
    {
        decoy = new Lazy<string>(() => hasher.HashPassword(Nobody, Guid.NewGuid().ToString("N")));
    }

    public string Hash(string password) => hasher.HashPassword(Nobody, password);

    public bool Verify(string? hash, string password)
    {
        var result = hasher.VerifyHashedPassword(Nobody, hash ?? decoy.Value, password);
        return hash is not null && result != PasswordVerificationResult.Failed;
    }
}
