using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

public static class TasksApi
{
    public static IEndpointRouteBuilder MapTasksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").RequireAuthorization();
        group.MapGet("/", ListTasks.Endpoint).WithName("ListTasks").ProducesErrors(400, 401, 422);
        group.MapPost("/", CreateTask.Endpoint).WithName("CreateTask")
            .WithDescription("schedule_type cron (5 fields, read in the scheduler's time zone, Asia/Shanghai by default), interval (seconds, at least 60) or once (an ISO date-time in the future). "
                + "Ordinary users: at most user_max_tasks tasks and runs at least user_min_schedule_minutes apart (409 naming the quota).")
            .ProducesErrors(400, 401, 409, 422);
        group.MapPost("/preview-schedule", PreviewSchedule.Endpoint).WithName("PreviewSchedule")
            .WithDescription("The next fire times of a schedule (schedule_type, schedule_expression, count 1-20, default 5) as the scheduler reads it, "
                + "in the market's time zone (Beijing time unless Market:TimeZone says otherwise), without saving anything; an invalid schedule is a 422 "
                + "with the message creating a task would give.")
            .ProducesErrors(400, 401, 422);
        group.MapGet("/{taskId:long}", GetTask.Endpoint).WithName("GetTask").ProducesErrors(401, 404);
        group.MapPut("/{taskId:long}", UpdateTask.Endpoint).WithName("UpdateTask").ProducesErrors(400, 401, 404, 409, 422);
        group.MapDelete("/{taskId:long}", DeleteTask.Endpoint).WithName("DeleteTask")
            .WithDescription("Removes the task and its schedule; its executions stay.").ProducesErrors(401, 404);
        group.MapPost("/{taskId:long}/execute", ExecuteTask.Endpoint).WithName("ExecuteTask").ProducesErrors(401, 404, 409, 422, 429);
        group.MapPost("/{taskId:long}/pause", PauseTask.Endpoint).WithName("PauseTask").ProducesErrors(401, 404);
        group.MapPost("/{taskId:long}/resume", ResumeTask.Endpoint).WithName("ResumeTask").ProducesErrors(401, 404, 409);
        group.MapGet("/{taskId:long}/executions", ListTaskExecutions.Endpoint).WithName("ListTaskExecutions").ProducesErrors(400, 401, 404, 422);
        return routes;
    }
}
