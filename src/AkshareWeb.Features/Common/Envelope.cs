using System.Text.Json.Serialization;

namespace AkshareWeb.Features.Common;

/// <summary>The success body of every endpoint: <c>{code: 0, message: "success", data}</c>.</summary>
public sealed record Envelope<T>(int Code, string Message, T Data)
{
    public static Envelope<T> Success(T data) => new(0, "success", data);
}

/// <summary>The success body of an endpoint that returns nothing but the acknowledgement.</summary>
public sealed record Envelope(int Code, string Message)
{
    public static Envelope Success() => new(0, "success");
}

/// <summary>The error body: <c>{code, message, detail}</c>; written only by the host's error handling.</summary>
public sealed record ErrorEnvelope(
    int Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] object? Detail);

/// <summary>One failing field of a validation error (422, code 3001).</summary>
public sealed record FieldError(string Field, string Message);
