using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>Configuration section <c>Jwt</c>.</summary>
public sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>HMAC key (at least 32 characters), never written to the database. Empty: one is generated once and
    /// kept in the database, encrypted with Data Protection, so every instance on it signs and accepts the same tokens.</summary>
    public string? SigningKey { get; set; }
    public string Issuer { get; set; } = "akshareweb";
    public string Audience { get; set; } = "akshareweb";
    public int AccessTokenSeconds { get; set; } = 1800;
    /// <summary>Sliding: each refresh token lives this long, and each use hands out a new one.</summary>
    public int RefreshTokenDays { get; set; } = 14;
    /// <summary>Absolute: a session (one login) ends this many days after the login, however often it is refreshed.</summary>
    public int SessionMaxDays { get; set; } = 30;
}

/// <summary>
/// The signing key in use, loaded once at start-up (after migrations and the key ring) and shared by issuer and
/// validator. A configured key never touches the database. A generated one is kept in <c>app_secrets</c> encrypted
/// with Data Protection, so that it is as safe as the key ring (<see cref="KeyRingProtection"/>); a key an older
/// version kept there in plain text is encrypted in its place at the first start, and tokens stay valid.
/// </summary>
public sealed class JwtKeys(IOptions<JwtOptions> options, Database database, IDataProtectionProvider protection, TimeProvider time, ILogger<JwtKeys> logger)
{
    private const string PlainName = "jwt_signing_key";
    private const string ProtectedName = "jwt_signing_key_protected";
    private SymmetricSecurityKey? key;

    public SymmetricSecurityKey Key => key ?? throw new InvalidOperationException("JWT keys are not loaded yet.");

    public async Task LoadAsync(CancellationToken ct)
    {
        var configured = options.Value.SigningKey;
        await using var connection = await database.OpenAsync(ct);
        if (!string.IsNullOrEmpty(configured))
        {
            if (Encoding.UTF8.GetByteCount(configured) < 32)
            {
                throw new InvalidOperationException("Jwt:SigningKey must be at least 32 bytes long.");
            }

            key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(configured));
            // A key generated before one was configured signs nothing now; were the setting dropped later, a copy
            // that old backups hold would come back. It goes.
            if (await connection.ExecuteAsync(new CommandDefinition("DELETE FROM app_secrets WHERE name IN (@PlainName, @ProtectedName)",
                    new { PlainName, ProtectedName }, cancellationToken: ct)) > 0)
            {
                logger.LogInformation("Jwt:SigningKey is configured: the signing key generated before was removed from the database.");
            }

            return;
        }

        var protector = protection.CreateProtector("AkshareWeb.JwtSigningKey");
        var now = time.GetUtcNow().UtcDateTime;
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            var plain = await connection.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(
                "SELECT value FROM app_secrets WHERE name = @PlainName FOR UPDATE", new { PlainName }, transaction, cancellationToken: ct));
            // INSERT IGNORE: when two instances start at once, the first key written wins and both read it back.
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT IGNORE INTO app_secrets (name, value, created_at) VALUES (@ProtectedName, @value, @now)",
                new { ProtectedName, value = protector.Protect(plain ?? RandomNumberGenerator.GetBytes(64)), now }, transaction, cancellationToken: ct));
            if (plain is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM app_secrets WHERE name = @PlainName", new { PlainName }, transaction, cancellationToken: ct));
            }

            await transaction.CommitAsync(ct);
        }

        var stored = await connection.QuerySingleAsync<byte[]>(new CommandDefinition(
            "SELECT value FROM app_secrets WHERE name = @ProtectedName", new { ProtectedName }, cancellationToken: ct));
        try
        {
            key = new SymmetricSecurityKey(protector.Unprotect(stored));
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException(
                "The JWT signing key in the database cannot be decrypted with this instance's data-protection key ring (DataProtection:*). " +
                "Give it the same setting as when the key was stored, or delete the app_secrets row 'jwt_signing_key_protected' to start " +
                "with a new key (everyone signs in again).", e);
        }
    }
}
