using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Features.Accounts;

/// <summary>
/// The framework's PasswordHasher (PBKDF2-HMAC-SHA512, <c>Auth:PasswordHashIterations</c> iterations, 100,000 by
/// default, random salt). A login for an unknown user verifies against a real hash too, so both failures cost the
/// same time and do not tell names apart.
/// </summary>
public sealed class Passwords
{
    private static readonly object Nobody = new();
    private readonly PasswordHasher<object> hasher;
    private readonly Lazy<string> decoy;

    public Passwords(IOptions<PasswordHashOptions> options)
    {
        hasher = new PasswordHasher<object>(Options.Create(new PasswordHasherOptions { IterationCount = options.Value.PasswordHashIterations }));
        decoy = new Lazy<string>(() => hasher.HashPassword(Nobody, Guid.NewGuid().ToString("N")));
    }

    public string Hash(string password) => hasher.HashPassword(Nobody, password);

    public bool Verify(string? hash, string password)
    {
        var result = hasher.VerifyHashedPassword(Nobody, hash ?? decoy.Value, password);
        return hash is not null && result != PasswordVerificationResult.Failed;
    }
}
