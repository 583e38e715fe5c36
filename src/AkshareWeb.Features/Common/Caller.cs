using System.Globalization;
using System.Security.Claims;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Who an operation acts for: the signed-in user of a request, or a task's owner when a scheduled job runs it.
/// Handlers see only this, never the token, so a job and a request are checked by the same rules.
/// </summary>
public readonly record struct Caller(long Id, bool IsAdmin)
{
    /// <summary>The caller of a request; a token without a numeric subject is no caller at all.</summary>
    public static Caller Of(ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirst(TokenClaims.Subject)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? new Caller(id, principal.IsInRole(Roles.Admin))
            : throw ApiError.Unauthorized();

    /// <summary>Whether this caller may see or change something owned by <paramref name="ownerId"/>.</summary>
    public bool MayActOn(long? ownerId) => IsAdmin || ownerId == Id;
}
