using System.Security.Claims;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Auth;
using AkshareWeb.Features.Common;
using Dapper;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace AkshareWeb.Api.Setup;

public static class Authentication
{
    public static IServiceCollection AddAkshareWebAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<JwtOptions>(configuration.GetSection(JwtOptions.Section));
        services.AddSingleton<JwtKeys>();
        services.AddSingleton<Tokens>();
        services.AddSingleton<Passwords>();
        services.AddSingleton<LoginAttempts>();
        services.AddSingleton<SessionCheck>();
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section))
            .Validate(o => RegistrationModes.All.Contains(o.Registration), "Auth:Registration must be open, closed or approval")
            .ValidateOnStart();
        services.AddOptions<PasswordHashOptions>().Bind(configuration.GetSection(PasswordHashOptions.Section))
            .Validate<IHostEnvironment>(
                (o, environment) => o.PasswordHashIterations >= PasswordHashOptions.MinimumIterations || environment.IsEnvironment("Testing") && o.PasswordHashIterations >= 1_000,
                $"Auth:PasswordHashIterations must be at least {PasswordHashOptions.MinimumIterations:N0}")
            .ValidateOnStart();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<JwtOptions>, JwtKeys, TimeProvider>((bearer, jwt, keys, time) =>
            {
                bearer.MapInboundClaims = false;
                bearer.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = jwt.Value.Issuer,
                    ValidAudience = jwt.Value.Audience,
                    IssuerSigningKeyResolver = (_, _, _, _) => [keys.Key],
                    NameClaimType = TokenClaims.Subject,
                    RoleClaimType = TokenClaims.Role,
                    ClockSkew = TimeSpan.Zero,
                    // We only ever sign with HS256: any other algorithm (and "none") is a forgery attempt.
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    RequireSignedTokens = true,
                    RequireExpirationTime = true,
                    // Lifetime against the injected clock, so expiry is testable and exact. A custom validator
                    // replaces the built-in checks, RequireExpirationTime included, so a token without exp is refused here.
                    LifetimeValidator = (notBefore, expires, _, _) =>
                    {
                        if (expires is null)
                        {
                            return false;
                        }

                        var now = time.GetUtcNow().UtcDateTime;
                        if (expires is { } e && e <= now)
                        {
                            throw new SecurityTokenExpiredException("the access token has expired") { Expires = e };
                        }

                        return notBefore is not { } nb || nb <= now.AddSeconds(5);
                    },
                };
                bearer.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        if (string.IsNullOrEmpty(context.Request.Headers.Authorization)
                            && context.Request.Path.StartsWithSegments(OpenDashboardSession.DashboardPath)
                            && context.Request.Cookies.TryGetValue(OpenDashboardSession.CookieName, out var token))
                        {
                            context.Token = token;
                        }

                        return Task.CompletedTask;
                    },
                    OnTokenValidated = CheckAccountAndSessionAsync,
                    OnChallenge = context =>
                    {
                        context.HandleResponse();
                        return context.AuthenticateFailure is SecurityTokenExpiredException
                            ? ErrorResponses.WriteAsync(context.HttpContext, 401, ErrorCodes.TokenExpired, "access token has expired")
                            : ErrorResponses.WriteAsync(context.HttpContext, 401, ErrorCodes.AuthenticationFailed,
                                context.AuthenticateFailure is null ? "authentication required" : "invalid access token");
                    },
                    OnForbidden = context =>
                        ErrorResponses.WriteAsync(context.HttpContext, 403, ErrorCodes.Forbidden, "this endpoint is for administrators"),
                };
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(Roles.AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireRole(Roles.Admin));
        return services;
    }

    /// <summary>A signature is not enough: <see cref="SessionCheck"/> decides whether the token may still act, and for which role.</summary>
    private static async Task CheckAccountAndSessionAsync(TokenValidatedContext context)
    {
        var principal = context.Principal!;
        if (!long.TryParse(principal.FindFirst(TokenClaims.Subject)?.Value, out var userId)
            || principal.FindFirst(TokenClaims.Session)?.Value is not { } session
            || !int.TryParse(principal.FindFirst(TokenClaims.TokenVersion)?.Value, out var version))
        {
            context.Fail("malformed access token");
            return;
        }

        var check = context.HttpContext.RequestServices.GetRequiredService<SessionCheck>();
        if (await check.RoleAsync(userId, session, version, context.HttpContext.RequestAborted) is not { } role)
        {
            context.Fail("the access token has been revoked");
            return;
        }

        var identity = new ClaimsIdentity(
            principal.Claims.Where(c => c.Type != TokenClaims.Role).Append(new Claim(TokenClaims.Role, role)),
            JwtBearerDefaults.AuthenticationScheme, TokenClaims.Subject, TokenClaims.Role);
        context.Principal = new ClaimsPrincipal(identity);
    }
}
