using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Executions;

/// <summary>An execution's plan as the labels of <see cref="AkshareMetrics"/>, which lives in Common and so knows no plan.</summary>
public static class ExecutionMetrics
{
    public static void Started(this AkshareMetrics metrics, ExecutionPlan plan) =>
        metrics.ExecutionStarted(Script(plan), plan.TriggeredBy);

    public static void Finished(this AkshareMetrics metrics, ExecutionPlan plan, string status, long fetched, long written) =>
        metrics.ExecutionFinished(Script(plan), plan.TriggeredBy, status, fetched, written);

    private static string Script(ExecutionPlan plan) => plan.ScriptId ?? AkshareMetrics.InterfaceScript(plan.InterfaceName);
}
