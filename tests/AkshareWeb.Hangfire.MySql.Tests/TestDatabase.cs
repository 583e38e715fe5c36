using System.Diagnostics;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Hangfire.MySql.Tests;

/// <summary>
/// A database of its own per test class on the server named by AKSHAREWEB_TEST_MYSQL, dropped afterwards,
/// so test classes and other test projects can share one server. Each test gets a fresh table prefix.
/// </summary>
public sealed class TestDatabase : IDisposable
{
    public const string ServerVariable = "AKSHAREWEB_TEST_MYSQL";
    private static int _prefixCounter;

    static TestDatabase()
    {
        // Clock bugs hide when the process runs in UTC; move it away from UTC if the runner did not.
        if (TimeZoneInfo.Local.BaseUtcOffset == TimeSpan.Zero)
        {
            Environment.SetEnvironmentVariable("TZ", "Pacific/Auckland");
            TimeZoneInfo.ClearCachedData();
        }
    }

    public TestDatabase()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable);
        if (string.IsNullOrWhiteSpace(server))
        {
            throw new InvalidOperationException(
                $"Set {ServerVariable} to a MySQL/MariaDB server connection string (no database), e.g. " +
                "'Server=127.0.0.1;Port=3306;User ID=root;Password=...'. The tests create and drop their own databases.");
        }

        ServerConnectionString = server;
        Name = $"hftest_{Guid.NewGuid():N}"[..24];
        using (var connection = new MySqlConnection(server))
        {
            connection.Open();
            connection.Execute($"CREATE DATABASE `{Name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        }

        ConnectionString = new MySqlConnectionStringBuilder(server) { Database = Name }.ConnectionString;
    }

    public string Name { get; }

    public string ServerConnectionString { get; }

    public string ConnectionString { get; }

    public static string NewPrefix() => $"t{Interlocked.Increment(ref _prefixCounter)}_";

    public MySqlStorage CreateStorage(Action<MySqlStorageOptions>? configure = null, string? prefix = null)
    {
        var options = new MySqlStorageOptions
        {
            TablesPrefix = prefix ?? NewPrefix(),
            QueuePollInterval = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return new MySqlStorage(ConnectionString, options);
    }

    public MySqlConnection Open()
    {
        var connection = new MySqlConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    public void Dispose()
    {
        MySqlConnection.ClearAllPools();
        using var connection = new MySqlConnection(ServerConnectionString);
        connection.Open();
        connection.Execute($"DROP DATABASE IF EXISTS `{Name}`");
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout, int pollMilliseconds = 50)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }

            Thread.Sleep(pollMilliseconds);
        }

        return condition();
    }

    /// <summary>Test duration knobs (seconds) read from the environment so CI can bound them.</summary>
    public static int Seconds(string variable, int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) && value > 0 ? value : fallback;
}
