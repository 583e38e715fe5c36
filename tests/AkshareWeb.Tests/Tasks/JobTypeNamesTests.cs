using AkshareWeb.Api.Setup;
using AkshareWeb.Features.Tasks;

namespace AkshareWeb.Tests.Tasks;

/// <summary>Hangfire stores a job's class by name: a task scheduled before TaskTrigger became DueTaskJob still fires.</summary>
public sealed class JobTypeNamesTests
{
    [Fact]
    public void A_job_stored_under_the_former_name_resolves_to_the_due_task_job() =>
        Assert.Equal(typeof(DueTaskJob), Scheduling.ResolveJobType("AkshareWeb.Features.Tasks.TaskTrigger, AkshareWeb.Features"));

    [Fact]
    public void Other_job_names_resolve_as_Hangfire_does() =>
        Assert.Equal(typeof(AkshareWeb.Features.Executions.ExecutionJob),
            Scheduling.ResolveJobType("AkshareWeb.Features.Executions.ExecutionJob, AkshareWeb.Features"));
}
