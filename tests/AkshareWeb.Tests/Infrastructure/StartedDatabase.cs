using System.Text;
using System.Text.RegularExpressions;
using MySqlConnector;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>
/// The work of a first start on an empty database (the schema migrations, Hangfire's schema, importing the bundled
/// catalogue of about 1,090 interfaces, registering the data scripts), done once per test process by the service's
/// own start on a database of its own, the template. A fixture's database is then a copy made inside the server:
/// every table as SHOW CREATE TABLE gives it (keys and foreign keys included), with the rows of the schema's
/// bookkeeping and of the catalogue only. What belongs to one installation (users, sessions, the key ring,
/// app_secrets, Hangfire's servers and jobs, tasks, executions) starts empty and is made by the fixture's own start
/// as on a new database; the rest of that start is the service's restart path, which finds nothing to import.
/// The first start itself is tested on empty databases (SchemaMigratorTests, SnapshotCatalogTests, ConcurrentStartTests).
/// </summary>
internal static partial class StartedDatabase
{
    /// <summary>Tables copied with their rows; the others are copied empty.</summary>
    private static readonly HashSet<string> CatalogTables = new(StringComparer.Ordinal)
    {
        "schema_migrations", "hangfire_schema", "interfaces", "interface_parameters", "data_scripts",
    };

    /// <summary>Of app_settings, the row naming the import the catalogue holds (InterfaceCatalog's SourceSetting):
    /// without it the restart would import the snapshot again.</summary>
    private const string CatalogSourceSetting = "catalog_source";

    private const string Prefix = "awtpl_";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Template? template;

    private sealed record Template(string Database, IReadOnlyList<(string Table, string Create)> Tables);

    /// <summary>Fills the empty database <paramref name="copy"/> from the template, making the template first if needed.</summary>
    public static async Task CopyIntoAsync(string server, string copy)
    {
        var source = await TemplateAsync(server);
        var sql = new StringBuilder("SET FOREIGN_KEY_CHECKS = 0;\n");
        foreach (var (table, create) in source.Tables)
        {
            if (CatalogTables.Contains(table))
            {
                // The counter as the template left it: the copy is the template, row for row.
                sql.Append(create).Append(";\n");
                sql.Append($"INSERT INTO `{table}` SELECT * FROM `{source.Database}`.`{table}`;\n");
            }
            else
            {
                // An empty table's counter starts at 1, as on a new database.
                sql.Append(AutoIncrementOption().Replace(create, "")).Append(";\n");
                if (table == "app_settings")
                {
                    sql.Append($"INSERT INTO `{table}` SELECT * FROM `{source.Database}`.`{table}` WHERE name = '{CatalogSourceSetting}';\n");
                }
            }
        }

        sql.Append("SET FOREIGN_KEY_CHECKS = 1;");
        // A connection of its own on the copy (not pooled): unqualified names, foreign keys' included, are the copy's.
        await using var connection = new MySqlConnection(new MySqlConnectionStringBuilder(server) { Database = copy, Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql.ToString(), connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<Template> TemplateAsync(string server)
    {
        if (template is not null) return template;
        await Gate.WaitAsync();
        try
        {
            if (template is not null) return template;
            await DropAbandonedAsync(server);
            var name = $"{Prefix}{Environment.ProcessId}_{Guid.NewGuid():N}"[..40];
            await ExecuteAsync(server, $"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DropOnExit(server, name);
            var connectionString = new MySqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
            await AkshareWebApp.StartOnceAsync(connectionString);

            var tables = new List<(string, string)>();
            await using var connection = new MySqlConnection(connectionString);
            await connection.OpenAsync();
            var names = new List<string>();
            await using (var list = new MySqlCommand("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'", connection))
            await using (var reader = await list.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync()) names.Add(reader.GetString(0));
            }

            foreach (var table in names)
            {
                await using var show = new MySqlCommand($"SHOW CREATE TABLE `{table}`", connection);
                await using var reader = await show.ExecuteReaderAsync();
                await reader.ReadAsync();
                tables.Add((table, reader.GetString(1)));
            }

            template = new Template(name, tables);
            return template;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Templates of test processes that are gone (killed before their exit handler ran).</summary>
    private static async Task DropAbandonedAsync(string server)
    {
        var abandoned = new List<string>();
        await using (var connection = new MySqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new MySqlCommand($"SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '{Prefix}%'", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var database = reader.GetString(0);
                var pid = database[Prefix.Length..].Split('_')[0];
                if (int.TryParse(pid, System.Globalization.CultureInfo.InvariantCulture, out var id) && !Alive(id)) abandoned.Add(database);
            }
        }

        foreach (var database in abandoned) await ExecuteAsync(server, $"DROP DATABASE IF EXISTS `{database}`");
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static async Task ExecuteAsync(string server, string sql)
    {
        await using var connection = new MySqlConnection(server);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static void DropOnExit(string server, string database)
    {
        try
        {
            using var connection = new MySqlConnection(new MySqlConnectionStringBuilder(server) { Pooling = false }.ConnectionString);
            connection.Open();
            using var command = new MySqlCommand($"DROP DATABASE IF EXISTS `{database}`", connection);
            command.ExecuteNonQuery();
        }
        catch (MySqlException)
        {
            // The server went first (scripts/test.sh stops it at the end); the next test process drops it.
        }
    }

    [GeneratedRegex(@" AUTO_INCREMENT=\d+")]
    private static partial Regex AutoIncrementOption();
}
