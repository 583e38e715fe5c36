using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Auth;

/// <summary>What a sign-in page needs before anyone has a token: may people register here, and how.</summary>
public static class GetRegistrationMode
{
    /// <summary><c>mode</c>: open, closed or approval (<see cref="RegistrationModes"/>).</summary>
    public sealed record Result(string Mode);

    internal static Ok<Envelope<Result>> Endpoint(IOptions<AuthOptions> auth) =>
        TypedResults.Ok(Envelope<Result>.Success(new Result(auth.Value.Registration)));
}
