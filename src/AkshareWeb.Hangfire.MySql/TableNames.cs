namespace AkshareWeb.Hangfire.MySql;

/// <summary>Quoted table names for one prefix. Backticks everywhere because `Key` and `Value` are keywords.</summary>
internal sealed class TableNames(string prefix)
{
    public string Prefix { get; } = prefix;
    public string Schema { get; } = $"`{prefix}schema`";
    public string Job { get; } = $"`{prefix}job`";
    public string JobParameter { get; } = $"`{prefix}job_parameter`";
    public string State { get; } = $"`{prefix}state`";
    public string JobQueue { get; } = $"`{prefix}job_queue`";
    public string Server { get; } = $"`{prefix}server`";
    public string Set { get; } = $"`{prefix}set`";
    public string List { get; } = $"`{prefix}list`";
    public string Hash { get; } = $"`{prefix}hash`";
    public string Counter { get; } = $"`{prefix}counter`";
    public string AggregatedCounter { get; } = $"`{prefix}aggregated_counter`";
}
