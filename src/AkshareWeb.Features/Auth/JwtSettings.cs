using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>Configuration section <c>Jwt</c>.</summary>
public sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>HMAC key (at least 32 characters). Empty: one is generated once and kept in the database,
    /// so every instance on that database signs and accepts the same tokens.</summary>
    public string? SigningKey { get; set; }
    public string Issuer { get; set; } = "akshareweb";
    public string Audience { get; set; } = "akshareweb";
    public int AccessTokenSeconds { get; set; } = 1800;
    /// <summary>Sliding: each refresh token lives this long, and each use hands out a new one.</summary>
    public int RefreshTokenDays { get; set; } = 14;
    /// <summary>Absolute: a session (one login) ends this many days after the login, however often it is refreshed.</summary>
    public int SessionMaxDays { get; set; } = 30;
}

/// <summary>The signing key in use, loaded once at start-up (after migrations) and shared by issuer and validator.</summary>
public sealed class JwtKeys(IOptions<JwtOptions> options, Database database, TimeProvider time)
{
    private SymmetricSecurityKey? key;

    public SymmetricSecurityKey Key => key ?? throw new InvalidOperationException("JWT keys are not loaded yet.");

    public async Task LoadAsync(CancellationToken ct)
    {
        var configured = options.Value.SigningKey;
        if (!string.IsNullOrEmpty(configured))
        {
            if (Encoding.UTF8.GetByteCount(configured) < 32)
            {
                throw new InvalidOperationException("Jwt:SigningKey must be at least 32 bytes long.");
            }

            key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(configured));
            return;
        }

        await using var connection = await database.OpenAsync(ct);
        // INSERT IGNORE: when two instances start at once, the first key written wins and both read it back.
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT IGNORE INTO app_secrets (name, value, created_at) VALUES ('jwt_signing_key', @value, @now)",
            new { value = RandomNumberGenerator.GetBytes(64), now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct));
        var stored = await connection.QuerySingleAsync<byte[]>(new CommandDefinition(
            "SELECT value FROM app_secrets WHERE name = 'jwt_signing_key'", cancellationToken: ct));
        key = new SymmetricSecurityKey(stored);
    }
}
