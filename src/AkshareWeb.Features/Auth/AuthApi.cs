using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

public static class AuthApi
{
    /// <summary>The rate-limiter policy for attempts to log in or register, per client address.</summary>
    public const string AttemptsPolicy = "auth-attempts";

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/auth").WithTags("Auth");
        group.MapPost("/register", Register.Endpoint).AllowAnonymous().RequireRateLimiting(AttemptsPolicy)
            .WithName("Register").ProducesErrors(400, 409, 422, 429);
        group.MapPost("/login", Login.Endpoint).AllowAnonymous().RequireRateLimiting(AttemptsPolicy)
            .WithName("Login").ProducesErrors(400, 401, 422, 429);
        group.MapPost("/refresh", Refresh.Endpoint).AllowAnonymous().RequireRateLimiting(AttemptsPolicy)
            .WithName("RefreshToken").ProducesErrors(400, 401, 422, 429)
            .WithDescription("Exchanges the refresh_token for a new access_token and a new refresh_token. Refresh tokens rotate: " +
                "the answer's refresh_token replaces the one sent, which stops working at once; keep the new one for the next refresh. " +
                "A used refresh_token sent again is taken for a stolen copy: 401, and the whole session ends (its newest access and " +
                "refresh tokens too), so the user logs in again.");
        group.MapPost("/logout", Logout.Endpoint).RequireAuthorization().WithName("Logout").ProducesErrors(401);
        group.MapPost("/dashboard-session", OpenDashboard.Endpoint).RequireAuthorization(Roles.AdminPolicy).WithName("OpenDashboardSession")
            .WithDescription("Admins: sets an HttpOnly cookie carrying the current access token for the Hangfire dashboard at /hangfire.")
            .ProducesErrors(401, 403);
        group.MapGet("/me", Me.Endpoint).RequireAuthorization().WithName("GetCurrentUser").ProducesErrors(401);
        return routes;
    }
}
