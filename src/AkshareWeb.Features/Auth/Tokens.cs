using System.Security.Claims;
using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using MySqlConnector;

namespace AkshareWeb.Features.Auth;

/// <summary>What register, login and refresh answer.</summary>
public sealed record TokenPair(string AccessToken, string RefreshToken, string TokenType, int ExpiresIn);

/// <summary>
/// Issues access tokens (JWT) and opaque refresh tokens. A refresh token is 32 random bytes shown to the client
/// once; only its SHA-256 is stored, so a database leak yields no usable token.
/// </summary>
public sealed class Tokens(JwtKeys keys, IOptions<JwtOptions> options, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new();

    public int AccessTokenSeconds => options.Value.AccessTokenSeconds;

    public string CreateAccessToken(long userId, string role, int tokenVersion, string sessionId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddSeconds(options.Value.AccessTokenSeconds),
            SigningCredentials = new SigningCredentials(keys.Key, SecurityAlgorithms.HmacSha256),
            Subject = new ClaimsIdentity(
            [
                new Claim(Common.TokenClaims.Subject, userId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Claim(Common.TokenClaims.Role, role),
                new Claim(Common.TokenClaims.TokenId, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))),
                new Claim(Common.TokenClaims.Session, sessionId),
                new Claim(Common.TokenClaims.TokenVersion, tokenVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer32),
            ]),
        };
        return Handler.CreateToken(descriptor);
    }

    /// <summary>Starts a new session (refresh-token family) for a successful login or registration.</summary>
    public async Task<TokenPair> StartSessionAsync(
        MySqlConnection connection, MySqlTransaction? transaction, long userId, string role, int tokenVersion, CancellationToken ct)
    {
        var sessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO auth_sessions (id, user_id, created_at) VALUES (@sessionId, @userId, @now)",
            new { sessionId, userId, now = time.GetUtcNow().UtcDateTime }, transaction, cancellationToken: ct));
        var refresh = await AddRefreshTokenAsync(connection, transaction, sessionId, time.GetUtcNow().UtcDateTime, ct);
        return new TokenPair(CreateAccessToken(userId, role, tokenVersion, sessionId), refresh, "bearer", AccessTokenSeconds);
    }

    /// <summary>When a session started at <paramref name="sessionStarted"/> must end, whatever its refreshes.</summary>
    public DateTime SessionEnd(DateTime sessionStarted) => sessionStarted.AddDays(options.Value.SessionMaxDays);

    public async Task<string> AddRefreshTokenAsync(
        MySqlConnection connection, MySqlTransaction? transaction, string sessionId, DateTime sessionStarted, CancellationToken ct)
    {
        var token = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow().UtcDateTime;
        var sliding = now.AddDays(options.Value.RefreshTokenDays);
        var end = SessionEnd(sessionStarted);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO refresh_tokens (session_id, token_hash, created_at, expires_at)
            VALUES (@sessionId, @hash, @now, @expires)
            """,
            new { sessionId, hash = Hash(token), now, expires = sliding < end ? sliding : end },
            transaction, cancellationToken: ct));
        return token;
    }

    public static byte[] Hash(string refreshToken) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(refreshToken));
}
