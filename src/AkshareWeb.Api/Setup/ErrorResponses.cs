using System.Net.Mime;
using System.Text.Json;
using AkshareWeb.Features.Common;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// The one place that writes error bodies: thrown <see cref="ApiError"/>s, failures the framework produces
/// itself (unknown route, wrong method, unreadable JSON, authentication, authorisation, rate limit) and
/// unhandled exceptions, all as <c>{code, message, detail}</c> and never with a stack trace.
/// </summary>
public static class ErrorResponses
{
    public static Task WriteAsync(HttpContext context, int status, int code, string message, object? detail = null)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        // No Response.Clear(): it would drop headers set for this answer, such as Retry-After. The exception
        // handler middleware has already cleared whatever the failed endpoint wrote.
        context.Response.StatusCode = status;
        context.Response.ContentType = MediaTypeNames.Application.Json;
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        return context.Response.WriteAsync(JsonSerializer.Serialize(new ErrorEnvelope(code, message, detail), json), context.RequestAborted);
    }

    public static IApplicationBuilder UseErrorEnvelopes(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // The status-code pages below would otherwise see the 500 and write a second body.
            StatusCodeSelector = _ => StatusCodes.Status500InternalServerError,
            // Errors the envelope knows are answers, not incidents: no error log for them.
            // (A database away or busy is logged below as a warning, once.)
            SuppressDiagnosticsCallback = c => c.Exception is ApiError or BadHttpRequestException || Failover.IsTransient(c.Exception),
            ExceptionHandler = HandleExceptionAsync,
        });

        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            return http.Response.StatusCode switch
            {
                404 => WriteAsync(http, 404, ErrorCodes.NotFound, $"no such endpoint: {http.Request.Method} {http.Request.Path}"),
                405 => WriteAsync(http, 405, ErrorCodes.General, $"method {http.Request.Method} is not allowed on {http.Request.Path}"),
                415 => WriteAsync(http, 415, ErrorCodes.BadFormat, "the request body must be JSON (Content-Type: application/json)"),
                401 => WriteAsync(http, 401, ErrorCodes.AuthenticationFailed, "authentication required"),
                403 => WriteAsync(http, 403, ErrorCodes.Forbidden, "permission denied"),
                _ => Task.CompletedTask,
            };
        });
        return app;
    }

    private static Task HandleExceptionAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("AkshareWeb.Errors");
        switch (error)
        {
            case ApiError api:
                if (api.RetryAfterSeconds is { } retry)
                {
                    context.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return WriteAsync(context, api.Status, api.Code, api.Message, api.Detail);

            case BadHttpRequestException bad:
                // Unreadable JSON, a body of the wrong shape, a query value that is not a number, ... The framework's
                // wording (type names, binding internals) is for the log; the client reads a sentence and the field.
                logger.LogInformation(bad, "Unreadable request {Method} {Path} ({TraceId})", context.Request.Method, context.Request.Path, context.TraceIdentifier);
                var answer = RequestProblems.Describe(bad, context.TraceIdentifier);
                return WriteAsync(context, answer.Status, answer.Code, answer.Message, answer.Detail);

            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                // The client left; nobody reads this answer.
                context.Response.StatusCode = 499;
                return Task.CompletedTask;

            case { } lost when Failover.IsUnavailable(lost):
                // The database (or the node this instance was on) is away: stopped, restarting, failing over to the next
                // node. A temporary state, as 503 says; clients retry.
                logger.LogWarning("Database unreachable on {Method} {Path}: {Message}", context.Request.Method, context.Request.Path, lost.Message);
                context.Response.Headers.RetryAfter = "2";
                return WriteAsync(context, 503, ErrorCodes.Database, "database unavailable", "the database does not answer; try again in a few seconds");

            case { } conflict when Failover.IsConflict(conflict):
                // Another writer changed the same rows at the same moment (a deadlock, or a Galera certification
                // conflict): nothing was written, and the same request succeeds when sent again.
                logger.LogWarning("Database conflict on {Method} {Path}: {Message}", context.Request.Method, context.Request.Path, conflict.Message);
                context.Response.Headers.RetryAfter = "1";
                return WriteAsync(context, 503, ErrorCodes.Database, "database busy", "the request met a concurrent change and was not applied; send it again");

            case MySqlException db:
                // The server's error number and text name tables and columns: the log has them, keyed by the trace id.
                logger.LogError(db, "Database error {Number} on {Method} {Path} ({TraceId})", db.Number, context.Request.Method, context.Request.Path, context.TraceIdentifier);
                return WriteAsync(context, 500, ErrorCodes.Database, "the database could not complete the request; the administrator can find it in the log by its trace id",
                    new ErrorDetail(null, context.TraceIdentifier));

            default:
                logger.LogError(error, "Unhandled error on {Method} {Path} ({TraceId})", context.Request.Method, context.Request.Path, context.TraceIdentifier);
                return WriteAsync(context, 500, ErrorCodes.General, "internal server error; the administrator can find it in the log by its trace id",
                    new ErrorDetail(null, context.TraceIdentifier));
        }
    }
}
