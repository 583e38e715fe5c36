using AkshareWeb.Features.Common;
using Microsoft.Net.Http.Headers;

namespace AkshareWeb.Api.Setup;

public static class RequestBodies
{
    /// <summary>
    /// JSON between systems is UTF-8 (RFC 8259, section 8.1). A charset the runtime does not know
    /// (<c>application/json; charset=bogus</c>) made the framework's JSON reader throw before any endpoint ran,
    /// a 500; any charset but UTF-8 is refused here as an unsupported media type, for every route alike.
    /// </summary>
    public static IApplicationBuilder UseUtf8RequestBodies(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
                && HeaderUtilities.RemoveQuotes(type.Charset) is { Length: > 0 } charset
                && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            {
                return ErrorResponses.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ErrorCodes.BadFormat,
                    "the request body must be UTF-8 JSON (Content-Type: application/json; charset=utf-8)",
                    new ErrorDetail("Content-Type", context.TraceIdentifier));
            }

            return next(context);
        });
}
