using MySqlConnector;
using Testcontainers.MySql;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>
/// A real database server for the tests: the MariaDB that scripts/test.sh starts (AKSHAREWEB_TEST_MYSQL), or a
/// MySQL container when a Docker engine answers. Each fixture gets a database of its own, dropped afterwards,
/// so test classes run in parallel without seeing each other's rows.
/// </summary>
public static class TestDatabase
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? serverConnectionString;

    public static async Task<string> ServerAsync()
    {
        if (serverConnectionString is not null) return serverConnectionString;
        await Gate.WaitAsync();
        try
        {
            if (serverConnectionString is not null) return serverConnectionString;
            var configured = Environment.GetEnvironmentVariable("AKSHAREWEB_TEST_MYSQL");
            if (!string.IsNullOrWhiteSpace(configured))
            {
                serverConnectionString = configured;
            }
            else if (DockerAnswers())
            {
                var container = new MySqlBuilder("mysql:8.4").Build();
                await container.StartAsync();
                serverConnectionString = new MySqlConnectionStringBuilder(container.GetConnectionString())
                {
                    Database = "",
                    UserID = "root",
                    Password = MySqlBuilder.DefaultPassword,
                }.ConnectionString;
            }
            else
            {
                throw new InvalidOperationException(
                    "No test database: run the tests with scripts/test.sh (it starts a private MariaDB), " +
                    "or set AKSHAREWEB_TEST_MYSQL to a MySQL 8 / MariaDB 10.6+ server connection string.");
            }

            return serverConnectionString;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> CreateAsync(string prefix = "awtest")
    {
        var server = await ServerAsync();
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(60, prefix.Length + 33)];
        await using var connection = new MySqlConnection(server);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(
            $"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", connection);
        await command.ExecuteNonQueryAsync();
        return new MySqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>
    /// Creates a database holding what the service's first start on an empty one leaves there with the default test
    /// settings (<see cref="StartedDatabase"/>), so the fixture's own start is a restart with nothing to import.
    /// </summary>
    public static async Task<string> CreateStartedAsync()
    {
        var copy = await CreateAsync();
        await StartedDatabase.CopyIntoAsync(await ServerAsync(), new MySqlConnectionStringBuilder(copy).Database);
        return copy;
    }

    public static async Task DropAsync(string connectionString)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString);
        var name = builder.Database;
        builder.Database = "";
        MySqlConnection.ClearAllPools();
        await using var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand($"DROP DATABASE IF EXISTS `{name}`", connection);
        try
        {
            await command.ExecuteNonQueryAsync();
        }
        catch (MySqlException e)
        {
            // Seen a few times under heavy load: the drop timed out at 30 s. Whatever held the database's tables then
            // (a query or a transaction outliving its service) is the cause to find, so the failure names them.
            throw new InvalidOperationException($"DROP DATABASE {name} failed ({e.Message}); the server's other sessions then:\n{await SessionsAsync(builder.ConnectionString)}", e);
        }
    }

    private static async Task<string> SessionsAsync(string serverConnectionString)
    {
        try
        {
            await using var connection = new MySqlConnection(serverConnectionString);
            await connection.OpenAsync();
            await using var command = new MySqlCommand(
                """
                SELECT CONCAT_WS(' | ', p.ID, p.DB, p.COMMAND, p.TIME, p.STATE, LEFT(p.INFO, 300),
                       IF(t.trx_id IS NULL, NULL, CONCAT('transaction since ', t.trx_started, ': ', LEFT(COALESCE(t.trx_query, ''), 200))))
                FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
                WHERE p.ID <> CONNECTION_ID() AND (p.COMMAND <> 'Sleep' OR t.trx_id IS NOT NULL)
                """, connection);
            var lines = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) lines.Add(reader.IsDBNull(0) ? "" : reader.GetString(0));
            return lines.Count == 0 ? "(none busy)" : string.Join('\n', lines);
        }
        catch (MySqlException e)
        {
            return $"(not readable: {e.Message})";
        }
    }

    private static bool DockerAnswers()
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("docker", "info")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null) return false;
            if (!process.WaitForExit(10_000)) { process.Kill(); return false; }
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
