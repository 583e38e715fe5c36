using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Features.Auth;

/// <summary>
/// The refresh token of a browser session (the console's), kept where no script can read it: an HttpOnly,
/// SameSite=Strict cookie sent only to the refresh route (under the path base, so behind a proxy's prefix too) and
/// <c>Secure</c> when the request came over HTTPS. A client asks for it with <c>refresh_cookie: true</c> on login or
/// registration; the answer's <c>refresh_token</c> is then empty, so the token never passes through script.
/// </summary>
public static class RefreshCookie
{
    public const string Name = "akshareweb_refresh";
    public const string RoutePath = "/api/auth/refresh";

    /// <summary>Puts the pair's refresh token in the cookie and answers the pair without it.</summary>
    public static TokenPair Hand(HttpContext context, TokenPair pair, JwtOptions jwt)
    {
        context.Response.Cookies.Append(Name, pair.RefreshToken, Options(context, TimeSpan.FromDays(jwt.RefreshTokenDays)));
        return pair with { RefreshToken = "" };
    }

    /// <summary>The pair as the client asked for it: the refresh token in the cookie or in the body.</summary>
    public static TokenPair Answer(HttpContext context, TokenPair pair, bool? inCookie, JwtOptions jwt) =>
        inCookie == true ? Hand(context, pair, jwt) : pair;

    public static string? Read(HttpContext context) =>
        context.Request.Cookies.TryGetValue(Name, out var token) && token.Length > 0 ? token : null;

    public static void Clear(HttpContext context) => context.Response.Cookies.Delete(Name, Options(context, null));

    private static CookieOptions Options(HttpContext context, TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        Secure = context.Request.IsHttps,
        SameSite = SameSiteMode.Strict,
        Path = context.Request.PathBase.Add(RoutePath).Value,
        MaxAge = maxAge,
        IsEssential = true,
    };
}
