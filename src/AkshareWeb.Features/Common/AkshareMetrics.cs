using System.Diagnostics.Metrics;
using AkshareWeb.Features.Collection;

namespace AkshareWeb.Features.Common;

/// <summary>
/// What an operator reads on /metrics about the service's own work (the meter <see cref="MeterName"/>; the
/// Prometheus names are the instrument names with dots as underscores, counters ending in <c>_total</c>):
/// executions started and ended, rows fetched and written, AKTools calls and their failures by kind, HTTP requests
/// by route and status class. Gauges that need the database are read at scrape time (see the Api's Metrics setup).
/// </summary>
public sealed class AkshareMetrics
{
    public const string MeterName = "AkshareWeb";

    private readonly Counter<long> executions;
    private readonly Counter<long> rowsFetched;
    private readonly Counter<long> rowsWritten;
    private readonly Histogram<double> akToolsDuration;
    private readonly Counter<long> akToolsFailures;
    private readonly Histogram<double> httpDuration;

    public AkshareMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        executions = Meter.CreateCounter<long>("akshareweb.executions", description: "Executions started (phase=started) and ended (phase=finished, status=completed|failed|timeout|cancelled), by script and trigger");
        rowsFetched = Meter.CreateCounter<long>("akshareweb.rows.fetched", description: "Rows read from AKTools, by script");
        rowsWritten = Meter.CreateCounter<long>("akshareweb.rows.written", description: "Rows inserted or updated in the warehouse, by script");
        akToolsDuration = Meter.CreateHistogram<double>("akshareweb.aktools.call.duration", "s", "Time until AKTools' answer began (or the call failed), by outcome",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });
        akToolsFailures = Meter.CreateCounter<long>("akshareweb.aktools.failures", description: "Failed AKTools calls, by kind: unreachable, upstream_error, no_data, parameter_error");
        httpDuration = Meter.CreateHistogram<double>("akshareweb.http.request.duration", "s", "HTTP requests, by route template, method and status class",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    public Meter Meter { get; }

    public void Started(ExecutionPlan plan) =>
        executions.Add(1, new("phase", "started"), new("status", "running"), new("script", Script(plan)), new("trigger", plan.TriggeredBy));

    public void Finished(ExecutionPlan plan, string status, long fetched, long written)
    {
        var script = new KeyValuePair<string, object?>("script", Script(plan));
        executions.Add(1, new("phase", "finished"), new("status", status), script, new("trigger", plan.TriggeredBy));
        if (fetched > 0) rowsFetched.Add(fetched, script);
        if (written > 0) rowsWritten.Add(written, script);
    }

    /// <summary>One AKTools call: <paramref name="failure"/> is null when rows (or an empty table) came back.</summary>
    public void AkToolsCall(double seconds, string? failure)
    {
        akToolsDuration.Record(seconds, new KeyValuePair<string, object?>("outcome", failure ?? "ok"));
        if (failure is not null) akToolsFailures.Add(1, new KeyValuePair<string, object?>("kind", failure));
    }

    public void HttpRequest(string route, string method, int status, double seconds) =>
        httpDuration.Record(seconds, new("route", route), new("method", method), new("status_class", $"{status / 100}xx"));

    /// <summary>The script's id; an ad-hoc download has none and counts under its interface.</summary>
    private static string Script(ExecutionPlan plan) => plan.ScriptId ?? "interface:" + plan.InterfaceName;
}
