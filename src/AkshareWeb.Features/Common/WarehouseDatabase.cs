using Microsoft.Extensions.Configuration;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>
/// The database that holds the collected <c>ak_*</c> tables. By default it is the application database;
/// <c>ConnectionStrings:Warehouse</c> (or the admin's database setting, once applied) points it elsewhere.
/// Readers ask for <see cref="ConnectionString"/> each time, so a change applies to the next run or request.
/// </summary>
public sealed class WarehouseDatabase(IConfiguration configuration, Database database)
{
    private string? current = ConfiguredOrNull(configuration);

    public string ConnectionString => current ?? database.ConnectionString;

    /// <summary>The schema (database name) the warehouse tables are in; information_schema queries filter on it.</summary>
    public string Schema => new MySqlConnectionStringBuilder(ConnectionString).Database;

    public void Use(string? connectionString) =>
        current = string.IsNullOrWhiteSpace(connectionString) ? null : Database.Normalise(connectionString);

    public Task<MySqlConnection> OpenAsync(CancellationToken ct) => Database.OpenAsync(ConnectionString, ct);

    private static string? ConfiguredOrNull(IConfiguration configuration)
    {
        var configured = configuration.GetConnectionString("Warehouse");
        return string.IsNullOrWhiteSpace(configured) ? null : Database.Normalise(configured);
    }
}
