using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Users;

public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/users").WithTags("Users").RequireAuthorization(Roles.AdminPolicy);
        group.MapGet("/", ListUsers.Endpoint).WithName("ListUsers").ProducesErrors(400, 401, 403, 422);
        group.MapGet("/{userId:long}", GetUser.Endpoint).WithName("GetUser").ProducesErrors(401, 403, 404);
        group.MapPut("/{userId:long}", UpdateUser.Endpoint).WithName("UpdateUser").ProducesErrors(400, 401, 403, 404, 409, 422);
        group.MapDelete("/{userId:long}", DeleteUser.Endpoint).WithName("DeleteUser").ProducesErrors(401, 403, 404, 409);
        group.MapPost("/{userId:long}/reset-password", ResetUserPassword.Endpoint).WithName("ResetUserPassword").ProducesErrors(400, 401, 403, 404, 422);
        return routes;
    }
}
