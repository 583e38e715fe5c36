using System.Globalization;
using System.Security.Claims;

namespace AkshareWeb.Features.Common;

/// <summary>Roles of the API contract.</summary>
public static class Roles
{
    public const string User = "user";
    public const string Admin = "admin";
    public const string AdminPolicy = "admin";

    public static readonly string[] All = [User, Admin];
}

/// <summary>Claim names inside our access tokens.</summary>
public static class TokenClaims
{
    public const string Subject = "sub";
    public const string Role = "role";
    public const string TokenId = "jti";
    public const string Session = "sid";
    public const string TokenVersion = "tv";
}

/// <summary>
/// The signed-in user's id and role read straight from the token. Superseded by <see cref="Caller"/>: Auth, Users,
/// Scripts, Settings and Data no longer use it; remove it once Executions and Tasks carry a Caller too (issue 15).
/// </summary>
public static class CurrentUser
{
    public static long Id(this ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirst(TokenClaims.Subject)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw ApiError.Unauthorized();

    public static bool IsAdmin(this ClaimsPrincipal principal) => principal.IsInRole(Roles.Admin);
}
