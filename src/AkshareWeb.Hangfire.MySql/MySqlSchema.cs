using System.Reflection;
using Dapper;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Installs and upgrades the schema from the embedded scripts Schema/v{N}.sql. The version lives in a
/// one-row table; installers in several processes serialise on a GET_LOCK and every script is idempotent
/// (CREATE TABLE IF NOT EXISTS), so a crash half-way is repaired by the next start.
/// </summary>
internal static class MySqlSchema
{
    public const int CurrentVersion = 1;

    private static readonly TimeSpan InstallLockTimeout = TimeSpan.FromMinutes(1);

    public static void Install(MySqlStorage storage)
    {
        var t = storage.Tables;
        using var installLock = MySqlDistributedLock.Acquire(storage, "schema:install", InstallLockTimeout);
        storage.UseConnection(connection =>
        {
            connection.Execute($"""
                CREATE TABLE IF NOT EXISTS {t.Schema} (
                  `Id` TINYINT NOT NULL,
                  `Version` INT NOT NULL,
                  PRIMARY KEY (`Id`)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
                """);
            var installed = connection.ExecuteScalar<int?>($"SELECT `Version` FROM {t.Schema} WHERE `Id` = 1") ?? 0;
            if (installed > CurrentVersion)
            {
                throw new NotSupportedException(
                    $"The database has Hangfire schema version {installed}, newer than {CurrentVersion} known to this build.");
            }

            for (var version = installed + 1; version <= CurrentVersion; version++)
            {
                connection.Execute(ReadScript(version).Replace("{prefix}", t.Prefix, StringComparison.Ordinal));
                connection.Execute(
                    $"INSERT INTO {t.Schema} (`Id`, `Version`) VALUES (1, @version) ON DUPLICATE KEY UPDATE `Version` = @version",
                    new { version });
            }
        });
    }

    internal static string ReadScript(int version)
    {
        var name = $"AkshareWeb.Hangfire.MySql.Schema.v{version}.sql";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded schema script {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
