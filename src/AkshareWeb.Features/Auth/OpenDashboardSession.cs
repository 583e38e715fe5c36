using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>
/// A browser cannot send a bearer header when it opens <c>/hangfire</c>; this puts the caller's access token
/// into an HttpOnly cookie scoped to the dashboard path, which the bearer handler accepts there only. It lives
/// no longer than the token and is revoked with it (logout, password reset).
/// </summary>
public static class OpenDashboardSession
{
    public const string CookieName = "akshareweb_dashboard";
    public const string DashboardPath = "/hangfire";

    public sealed record Result(string DashboardUrl, int ExpiresIn);

    internal static Ok<Envelope<Result>> Endpoint(HttpContext context, IOptions<JwtOptions> jwt)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiError.Unauthorized();
        }

        // Behind a proxy's prefix the browser sees the dashboard at <prefix>/hangfire; the cookie must be sent there.
        var path = context.Request.PathBase.Add(DashboardPath).Value!;
        context.Response.Cookies.Append(CookieName, header["Bearer ".Length..].Trim(), new CookieOptions
        {
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = path,
            MaxAge = TimeSpan.FromSeconds(jwt.Value.AccessTokenSeconds),
        });
        return TypedResults.Ok(Envelope<Result>.Success(new Result(path, jwt.Value.AccessTokenSeconds)));
    }
}
