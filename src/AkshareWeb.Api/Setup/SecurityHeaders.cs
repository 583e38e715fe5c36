namespace AkshareWeb.Api.Setup;

public static class SecurityHeaders
{
    /// <summary>
    /// Headers for a service exposed to browsers: no content sniffing (an exported CSV or a JSON answer is never run
    /// as a script or page), no referrer carrying a table name or a filter to another site, and no cache holding
    /// the answers that carry tokens. Set when the answer starts, so error answers (whose headers the exception
    /// handler clears) carry them too.
    /// </summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                // Login, register, refresh and the dashboard session answer with tokens; no cache, shared or private,
                // may keep them.
                if (context.Request.Path.StartsWithSegments("/api/auth", StringComparison.OrdinalIgnoreCase))
                {
                    headers.CacheControl = "no-store";
                    headers.Pragma = "no-cache";
                }

                return Task.CompletedTask;
            });
            return next(context);
        });
}
