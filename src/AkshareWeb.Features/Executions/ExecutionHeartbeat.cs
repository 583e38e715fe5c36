using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// A single run's heartbeat: every second it records the progress and reads the cancel flag, which is how a
/// cancel reaches the run on whichever instance it runs. A database that stops answering stops the beats, not
/// the loop: they resume on a new connection as soon as it answers again, and the loop never throws, because
/// the run's end awaits it and must still record what happened.
/// </summary>
internal sealed class ExecutionHeartbeat(Common.Database database, TimeProvider time, ILogger logger)
{
    /// <summary>Beats until <paramref name="stop"/>; calls <paramref name="cancelled"/> once a cancel is asked for.</summary>
    /// <param name="beat">One beat on the heartbeat's connection: records the progress, and answers whether a cancel was
    /// asked for.</param>
    public async Task BeatAsync(string executionId, Func<MySqlConnection, CancellationToken, Task<bool>> beat, Func<Task> cancelled, CancellationToken stop)
    {
        MySqlConnection? connection = null;
        var failing = false;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    connection ??= await database.OpenAsync(stop);
                    var flagged = await beat(connection, stop);
                    if (failing) logger.LogInformation("Heartbeat of execution {ExecutionId} resumed", executionId);
                    failing = false;
                    if (flagged) await cancelled();
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    // Whatever a beat meets, the loop goes on: the run's end awaits it (see the summary).
                    if (!failing) logger.LogWarning(e, "Heartbeat of execution {ExecutionId} failed; retrying every second", executionId);
                    failing = true;
                    if (connection is not null)
                    {
                        await DisposeQuietlyAsync(connection);
                        connection = null;
                    }
                }
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            if (connection is not null) await DisposeQuietlyAsync(connection);
        }
    }

    private static async Task DisposeQuietlyAsync(MySqlConnection connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception e) when (e is MySqlException or IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // A connection the database dropped: nothing left to close. A reset one throws a bare SocketException here;
            // escaping, it failed the heartbeat, whose await then threw out of the run before its end was recorded, and
            // the watchdog's "worker stopped answering" replaced the run's own cause (OutageTests, a fresh-clone run).
        }
    }
}
