using System.Diagnostics;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

/// <summary>Where the warehouse is, as the admin sees it: never with the password.</summary>
public sealed record WarehouseLocation(string Host, int Port, string Database, string Username);

/// <summary>
/// The warehouse connection an admin set through <c>/api/settings/database</c>: stored in app_settings with
/// the password encrypted by Data Protection (keys shared through the database), and applied to
/// <see cref="WarehouseDatabase"/> on this instance at once and on the others within a few seconds.
/// </summary>
public sealed class WarehouseConnection(SystemSettings settings, WarehouseDatabase warehouse, IDataProtectionProvider protection)
{
    private const string Setting = "warehouse_connection";
    private readonly IDataProtector protector = protection.CreateProtector("AkshareWeb.WarehousePassword");

    public WarehouseLocation Current()
    {
        var builder = new MySqlConnectionStringBuilder(warehouse.ConnectionString);
        return new WarehouseLocation(builder.Server, (int)builder.Port, builder.Database, builder.UserID);
    }

    public string? CurrentPassword() => new MySqlConnectionStringBuilder(warehouse.ConnectionString).Password;

    /// <summary>
    /// The stored password for a request that names the current server and user: the stored password is never sent to
    /// another server (an admin token alone must not be enough to learn it). Null for any other server.
    /// </summary>
    public string? StoredPasswordFor(IDatabaseLocation location)
    {
        var current = Current();
        var sameServer = string.Equals(current.Host, location.Host, StringComparison.OrdinalIgnoreCase)
            && current.Port == location.Port && string.Equals(current.Username, location.Username, StringComparison.Ordinal);
        return sameServer ? CurrentPassword() ?? "" : null;
    }

    public static string ConnectionStringFor(string host, int port, string database, string username, string? password) =>
        Database.Normalise(new MySqlConnectionStringBuilder
        {
            Server = host,
            Port = (uint)port,
            Database = database,
            UserID = username,
            Password = password ?? "",
        }.ConnectionString);

    /// <summary>Connects with a short timeout and reports how long a round trip took.</summary>
    public static async Task<(bool Connected, long LatencyMs, string? ServerVersion, string? Error)> ProbeAsync(string connectionString, CancellationToken ct)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString) { ConnectionTimeout = 5, Pooling = false };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(6));
        var watch = Stopwatch.StartNew();
        try
        {
            await using var connection = new MySqlConnection(builder.ConnectionString);
            await connection.OpenAsync(timeout.Token);
            await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: timeout.Token));
            return (true, watch.ElapsedMilliseconds, connection.ServerVersion, null);
        }
        catch (MySqlException e)
        {
            return (false, watch.ElapsedMilliseconds, null, Category(e));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (false, watch.ElapsedMilliseconds, null, TimedOut);
        }
    }

    public const string Refused = "connection refused or host unreachable";
    public const string TimedOut = "timed out: no answer within 6 seconds";
    public const string AccessDenied = "access denied: wrong username or password, or this user may not connect from here";
    public const string UnknownDatabase = "unknown database";
    public const string Failed = "the server refused the connection";

    /// <summary>
    /// Only a category, never the server's words: a probe can be aimed at any host and port, and echoing what
    /// answers there (banners, error text, a stored user's name) would turn the endpoint into a scanner.
    /// </summary>
    private static string Category(MySqlException e)
    {
        switch (e.ErrorCode)
        {
            case MySqlErrorCode.AccessDenied or MySqlErrorCode.DatabaseAccessDenied
                or MySqlErrorCode.PasswordNoMatch or MySqlErrorCode.HostNotPrivileged:
                return AccessDenied;
            case MySqlErrorCode.UnknownDatabase:
                return UnknownDatabase;
            case MySqlErrorCode.UnableToConnectToHost:
                return e.InnerException is TimeoutException || e.Message.Contains("timeout", StringComparison.OrdinalIgnoreCase)
                    || e.Message.Contains("timed out", StringComparison.OrdinalIgnoreCase)
                    ? TimedOut
                    : Refused;
            default:
                return Failed;
        }
    }

    public async Task SaveAsync(string connectionString, long userId, CancellationToken ct)
    {
        await settings.SetManyAsync(new Dictionary<string, string> { [Setting] = protector.Protect(connectionString) }, userId, ct);
        warehouse.Use(connectionString);
    }

    /// <summary>Applies what is stored (another instance may have changed it).</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        var stored = await settings.GetManyAsync([Setting], ct);
        if (stored.TryGetValue(Setting, out var encrypted))
        {
            var connectionString = protector.Unprotect(encrypted);
            if (connectionString != warehouse.ConnectionString)
            {
                warehouse.Use(connectionString);
            }
        }
    }
}

/// <summary>Keeps this instance's warehouse in step with the stored setting.</summary>
public sealed class WarehouseConnectionWatcher(WarehouseConnection connection, TimeProvider time, ILogger<WarehouseConnectionWatcher> logger)
    : BackgroundLoop(time, logger)
{
    protected override string Work => "Reading the stored warehouse connection";

    protected override TimeSpan Interval => TimeSpan.FromSeconds(5);

    // A key ring that cannot unprotect the stored password is an operator's matter, said as an outage is.
    protected override bool IsOutage(Exception e) => base.IsOutage(e) || e is System.Security.Cryptography.CryptographicException;

    protected override Task RoundAsync(CancellationToken ct) => connection.RefreshAsync(ct);
}
