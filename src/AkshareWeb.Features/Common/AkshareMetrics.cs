using System.Diagnostics.Metrics;

namespace AkshareWeb.Features.Common;

/// <summary>
/// What an operator reads on /metrics about the service's own work (the meter <see cref="MeterName"/>; the
/// Prometheus names are the instrument names with dots as underscores, counters ending in <c>_total</c>):
/// executions started and ended, rows fetched and written, AKTools calls by site family and their failures by kind, HTTP requests
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
    private readonly Counter<long> akToolsCalls;
    private readonly Histogram<double> httpDuration;

    public AkshareMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        executions = Meter.CreateCounter<long>("akshareweb.executions", description: "Executions started (phase=started) and ended (phase=finished, status=completed|failed|timeout|cancelled), by script and trigger");
        rowsFetched = Meter.CreateCounter<long>("akshareweb.rows.fetched", description: "Rows read from AKTools, by script");
        rowsWritten = Meter.CreateCounter<long>("akshareweb.rows.written", description: "Rows inserted or updated in the warehouse, by script");
        akToolsDuration = Meter.CreateHistogram<double>("akshareweb.aktools.call.duration", "s", "Time until AKTools' answer began (or the call failed), by outcome",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });
        akToolsFailures = Meter.CreateCounter<long>("akshareweb.aktools.failures", description: "Failed AKTools calls, by kind: unreachable, upstream_error, no_data, parameter_error, no_interface (AKShare on the AKTools host lacks the function)");
        akToolsCalls = Meter.CreateCounter<long>("akshareweb.aktools.calls",
            description: "AKTools calls made, every try counted, by the upstream site family they reach (eastmoney, sina, ...; other): rate() is the effective call rate per family");
        httpDuration = Meter.CreateHistogram<double>("akshareweb.http.request.duration", "s", "HTTP requests, by route template, method and status class",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    public Meter Meter { get; }

    /// <summary>An execution began. <paramref name="script"/> is its script's id, or for an ad-hoc download
    /// <see cref="InterfaceScript"/> of its interface.</summary>
    public void ExecutionStarted(string script, string trigger) =>
        executions.Add(1, new("phase", "started"), new("status", "running"), new("script", script), new("trigger", trigger));

    public void ExecutionFinished(string script, string trigger, string status, long fetched, long written)
    {
        var scriptTag = new KeyValuePair<string, object?>("script", script);
        executions.Add(1, new("phase", "finished"), new("status", status), scriptTag, new("trigger", trigger));
        if (fetched > 0) rowsFetched.Add(fetched, scriptTag);
        if (written > 0) rowsWritten.Add(written, scriptTag);
    }

    /// <summary>One AKTools call: <paramref name="failure"/> is null when rows (or an empty table) came back.</summary>
    public void AkToolsCall(double seconds, string? failure)
    {
        akToolsDuration.Record(seconds, new KeyValuePair<string, object?>("outcome", failure ?? "ok"));
        if (failure is not null) akToolsFailures.Add(1, new KeyValuePair<string, object?>("kind", failure));
    }

    /// <summary>One try of an AKTools call is sent, toward <paramref name="family"/>'s site.</summary>
    public void AkToolsTry(string family) => akToolsCalls.Add(1, new KeyValuePair<string, object?>("family", family));

    public void HttpRequest(string route, string method, int status, double seconds) =>
        httpDuration.Record(seconds, new("route", route), new("method", method), new("status_class", $"{status / 100}xx"));

    /// <summary>The script label of a run without a script (an ad-hoc download): it counts under its interface.</summary>
    public static string InterfaceScript(string interfaceName) => "interface:" + interfaceName;
}
