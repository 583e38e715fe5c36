using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class AuthApi
{
    /// <summary>The rate-limiter policy for attempts to log in or register, per client address.</summary>
    public const string AttemptsPolicy = "auth-attempts";

    private const string RefreshCookieNote = "With refresh_cookie: true (browsers: the console) the refresh token is not answered "
        + "(refresh_token is empty) but set as an HttpOnly, SameSite=Strict cookie sent only to POST /api/auth/refresh (Secure over "
        + "HTTPS), so no script can read it; logout removes it.";

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/auth").WithTags("Auth");
        group.MapGet("/registration", GetRegistrationMode.Endpoint).AllowAnonymous().WithName("GetRegistrationMode")
            .WithDescription("Whether this server lets people register (Auth:Registration): open, closed or approval. No token needed.")
            .ProducesErrors();
        group.MapPost("/register", Register.Endpoint).AllowAnonymous().RequireRateLimiting(AttemptsPolicy)
            .WithName("Register")
            .WithDescription("Auth:Registration decides: open (201 with tokens), closed (403), approval (202: the account "
                + "is inactive until an administrator activates it; logging in says so). " + RefreshCookieNote)
            .ProducesErrors(400, 403, 409, 422, 429);
        group.MapPost("/login", Login.Endpoint).AllowAnonymous().RequireRateLimiting(AttemptsPolicy)
            .WithName("Login").WithDescription(RefreshCookieNote).ProducesErrors(400, 401, 422, 429);
        group.MapPost("/refresh", RefreshToken.Endpoint).AllowAnonymous().RequireRateLimiting(AttemptsPolicy)
            .WithName("RefreshToken").ProducesErrors(400, 401, 422, 429)
            .WithDescription("Exchanges the refresh_token for a new access_token and a new refresh_token. Refresh tokens rotate: " +
                "the answer's refresh_token replaces the one sent, which stops working at once; keep the new one for the next refresh. " +
                "A used refresh_token sent again is taken for a stolen copy: 401, and the whole session ends (its newest access and " +
                "refresh tokens too), so the user logs in again. A browser signed in with refresh_cookie: true sends no refresh_token " +
                "(an empty object): its HttpOnly cookie is read instead, and the answer sets the next one (refresh_token is then empty).");
        group.MapPost("/logout", Logout.Endpoint).RequireAuthorization().WithName("Logout")
            .WithDescription("Ends the session of the access token sent (its refresh tokens stop working on every instance) and removes the refresh cookie.")
            .ProducesErrors(401);
        group.MapPost("/dashboard-session", OpenDashboardSession.Endpoint).RequireAuthorization(Roles.AdminPolicy).WithName("OpenDashboardSession")
            .WithDescription("Admins: sets an HttpOnly cookie carrying the current access token for the Hangfire dashboard at /hangfire.")
            .ProducesErrors(401, 403);
        group.MapPut("/password", ChangePassword.Endpoint).RequireAuthorization().WithName("ChangePassword")
            .WithDescription("The signed-in user changes their own password (current_password, new_password). Every other session "
                + "of the user ends at once; the session making the request stays signed in and keeps its tokens. A wrong "
                + "current_password is a 422 and counts as a failed login.")
            .ProducesErrors(400, 401, 422, 429);
        group.MapGet("/me", GetCurrentUser.Endpoint).RequireAuthorization().WithName("GetCurrentUser").ProducesErrors(401);
        return routes;
    }
}
