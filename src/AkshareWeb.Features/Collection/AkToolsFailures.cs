using System.Net;
using Polly.Timeout;

namespace AkshareWeb.Features.Collection;

/// <summary>Configuration section <c>AkTools</c>.</summary>
public sealed class AkToolsOptions
{
    public const string Section = "AkTools";

    public string BaseUrl { get; set; } = "http://127.0.0.1:8080";
    /// <summary>For a whole answer, however large.</summary>
    public int TimeoutSeconds { get; set; } = 600;
    public int MaxRetries { get; set; } = 3;
    public double RetryBaseDelaySeconds { get; set; } = 1;
}

/// <summary>Why a fetch from AKTools failed, in words an operator can act on (error code 5003).</summary>
public sealed class AkToolsException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>AKShare's function returned nothing for these parameters (None): a run with 0 rows, not a failure.</summary>
    public bool EmptyResult { get; init; }

    /// <summary>What failed, for metrics: one of <see cref="AkToolsFailures"/>; null when the cause tells (see <see cref="AkToolsFailures.Of"/>).</summary>
    public string? Kind { get; init; }
}

/// <summary>The kinds of AKTools failure an operator tells apart.</summary>
public static class AkToolsFailures
{
    public const string Unreachable = "unreachable";
    public const string UpstreamError = "upstream_error";
    public const string NoData = "no_data";
    public const string ParameterError = "parameter_error";

    /// <summary>AKTools' 404 "未找到该接口": AKShare on the AKTools host lacks the function. Apart from
    /// parameter_error because the fix is on that host (upgrade AKShare) or in the script, not in a run's values.</summary>
    public const string NoInterface = "no_interface";

    public static string Of(AkToolsException e) => e.Kind ?? (e.EmptyResult ? NoData : e.InnerException switch
    {
        HttpRequestException { StatusCode: HttpStatusCode.InternalServerError } => UpstreamError,
        HttpRequestException { StatusCode: null } or TaskCanceledException or TimeoutRejectedException or IOException => Unreachable,
        _ => UpstreamError,
    });
}
