using Hangfire;

namespace AkshareWeb.Hangfire.MySql;

public static class MySqlStorageExtensions
{
    /// <summary>Stores Hangfire's jobs in the MySQL/MariaDB database named by <paramref name="connectionString"/>.</summary>
    public static IGlobalConfiguration<MySqlStorage> UseMySqlStorage(
        this IGlobalConfiguration configuration,
        string connectionString,
        MySqlStorageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.UseStorage(new MySqlStorage(connectionString, options));
    }
}
