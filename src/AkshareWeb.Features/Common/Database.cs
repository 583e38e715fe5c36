using Microsoft.Extensions.Configuration;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>
/// The application database (users, tasks, executions, Hangfire). Every slice opens its connections here so
/// the session settings are the same everywhere: UTC, utf8mb4.
/// </summary>
public sealed class Database
{
    public Database(IConfiguration configuration)
    {
        var configured = configuration.GetConnectionString("AkshareWeb");
        if (string.IsNullOrWhiteSpace(configured))
        {
            throw new InvalidOperationException(
                "No database configured: set ConnectionStrings__AkshareWeb (or AKSHAREWEB__ConnectionStrings__AkshareWeb), " +
                "or start the service with scripts/run.sh, which starts a private MariaDB.");
        }

        ConnectionString = Normalise(configured);
    }

    public string ConnectionString { get; }

    public async Task<MySqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = await OpenAsync(ConnectionString, ct);
        if (Opened is not { } hook) return connection;
        try
        {
            await hook(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Tests only: awaited with every connection <see cref="OpenAsync(CancellationToken)"/> opens, before it is
    /// handed out, so a test can make the database fail as an outage makes it fail. Null in the service.</summary>
    internal Func<MySqlConnection, Task>? Opened { get; set; }

    /// <summary>
    /// What a database that stopped answering surfaces as: MySqlConnector's own exception, or the socket's, bare (a
    /// pooled connection whose socket the network reset fails its first command with a SocketException or IOException).
    /// </summary>
    public static bool IsOutage(Exception e) => e is MySqlException or IOException or System.Net.Sockets.SocketException;

    /// <summary>An open connection, or none at all: a connection that failed to open is disposed, not leaked.</summary>
    public static async Task<MySqlConnection> OpenAsync(string connectionString, CancellationToken ct)
    {
        var connection = new MySqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Forces the settings the application relies on, whatever the operator wrote.</summary>
    public static string Normalise(string connectionString)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString)
        {
            CharacterSet = "utf8mb4",
            // DATETIME values are written and read as UTC; the server's own zone must not leak in.
            DateTimeKind = MySqlDateTimeKind.Utc,
            ConvertZeroDateTime = true,
            AllowLoadLocalInfile = true,
        };
        return builder.ConnectionString;
    }
}
