using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

public static class ExecutionsApi
{
    public static IEndpointRouteBuilder MapExecutionsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/executions").WithTags("Executions").RequireAuthorization();
        group.MapGet("/", ListExecutions.Endpoint).WithName("ListExecutions").ProducesErrors(400, 401, 422);
        // Mapped before {execution_id}; a literal segment wins over a parameter anyway, and ids start with exec_.
        group.MapGet("/stats", GetExecutionStats.Endpoint).WithName("GetExecutionStats").ProducesErrors(401);
        group.MapGet("/{executionId}", GetExecution.Endpoint).WithName("GetExecution").ProducesErrors(401, 404);
        group.MapGet("/{executionId}/parts", ListExecutionParts.Endpoint).WithName("ListExecutionParts").ProducesErrors(401, 404, 422);
        group.MapPost("/{executionId}/cancel", CancelExecution.Endpoint).WithName("CancelExecution").ProducesErrors(401, 404, 409);
        group.MapPost("/{executionId}/retry", RetryExecution.Endpoint).WithName("RetryExecution").ProducesErrors(401, 404, 409, 429);
        return routes;
    }
}
