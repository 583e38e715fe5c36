namespace AkshareWeb.Features.Common;

/// <summary>The error codes of the API contract.</summary>
public static class ErrorCodes
{
    public const int General = -1;
    public const int AuthenticationFailed = 1001;
    public const int TokenExpired = 1002;
    public const int Forbidden = 1003;
    public const int NotFound = 2001;
    public const int AlreadyExists = 2002;
    public const int ValidationFailed = 3001;
    public const int BadFormat = 3002;
    public const int Database = 5001;
    public const int Scheduler = 5002;
    public const int DataCollection = 5003;
}

/// <summary>
/// An error the envelope knows. Slices throw it; the host's exception handler is the only place that turns it
/// into a response, so every error body has the same shape.
/// </summary>
public sealed class ApiError : Exception
{
    public ApiError(int status, int code, string message, object? detail = null) : base(message)
    {
        Status = status;
        Code = code;
        Detail = detail;
    }

    public int Status { get; }
    public int Code { get; }
    public object? Detail { get; }
    /// <summary>Seconds for a Retry-After header (429 only).</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiError NotFound(string what) => new(404, ErrorCodes.NotFound, $"{what} not found");

    /// <summary>Duplicates are always 409 with 2002 in this API.</summary>
    public static ApiError AlreadyExists(string message, object? detail = null) =>
        new(409, ErrorCodes.AlreadyExists, message, detail);

    public static ApiError Validation(string field, string message) =>
        new(422, ErrorCodes.ValidationFailed, "validation failed", new[] { new FieldError(field, message) });

    public static ApiError BadFormat(string message, object? detail = null) =>
        new(400, ErrorCodes.BadFormat, message, detail);

    public static ApiError Unauthorized(string message = "authentication failed") =>
        new(401, ErrorCodes.AuthenticationFailed, message);

    public static ApiError Forbidden(string message = "permission denied") =>
        new(403, ErrorCodes.Forbidden, message);

    public static ApiError Conflict(string message, int code = ErrorCodes.General) => new(409, code, message);

    public static ApiError TooManyRequests(int retryAfterSeconds) =>
        new(429, ErrorCodes.General, "too many requests") { RetryAfterSeconds = retryAfterSeconds };

    public static ApiError Scheduler(string message, object? detail = null) =>
        new(500, ErrorCodes.Scheduler, message, detail);

    public static ApiError DataCollection(string message, object? detail = null, int status = 502) =>
        new(status, ErrorCodes.DataCollection, message, detail);
}
