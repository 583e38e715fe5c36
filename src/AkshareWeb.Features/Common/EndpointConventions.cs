using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Features.Common;

public static class EndpointConventions
{
    /// <summary>Declares the error envelopes an endpoint can answer with, so the OpenAPI document and the
    /// generated clients know them. 500 is always possible.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses.Append(500).Distinct())
        {
            builder.Produces<ErrorEnvelope>(status, "application/json");
        }

        return builder;
    }
}
