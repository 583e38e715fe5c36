using Dapper;
using Hangfire.Logging;
using Hangfire.Server;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Slides the claim time of every job this process is still running, every fifth of the invisibility
/// timeout, so a long job is never handed to a second worker while its first one is alive; when the
/// process dies the refreshes stop and the job becomes fetchable once the timeout has passed.
/// </summary>
internal sealed class MySqlFetchedJobKeepAlive(MySqlStorage storage) : IBackgroundProcess
{
    private static readonly ILog Log = LogProvider.GetLogger(typeof(MySqlFetchedJobKeepAlive));

    public void Execute(BackgroundProcessContext context)
    {
        try
        {
            RefreshAll();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.WarnException("Could not refresh the claims of running jobs; will retry.", ex);
        }

        context.Wait(storage.Options.InvisibilityTimeout / 5);
    }

    /// <summary>Refreshes every held claim once; returns how many rows were still ours.</summary>
    internal int RefreshAll()
    {
        var jobs = storage.FetchedJobs.Snapshot();
        if (jobs.Count == 0)
        {
            return 0;
        }

        var t = storage.Tables;
        return storage.UseConnection(connection => connection.Execute(
            $"UPDATE {t.JobQueue} SET `FetchedAt` = UTC_TIMESTAMP(6) WHERE `Id` = @QueueRowId AND `FetchToken` = @FetchToken",
            jobs.Select(j => new { j.QueueRowId, j.FetchToken })));
    }

    public override string ToString() => "MySQL fetched-job keep-alive";
}
