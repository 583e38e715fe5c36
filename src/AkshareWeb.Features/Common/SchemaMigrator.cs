using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.Logging;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Applies the embedded <c>Migrations/NNNN_name.sql</c> scripts in order, each once. Two instances starting
/// together serialise on a GET_LOCK named for the database, so the second finds the work done; the scripts themselves
/// are written to be re-runnable (IF NOT EXISTS) because MySQL DDL commits implicitly and a crash between a
/// script and its bookkeeping row must not wedge the next start.
/// </summary>
public sealed partial class SchemaMigrator(Database database, TimeProvider time, ILogger<SchemaMigrator> logger)
{
    /// <summary>
    /// Applies what is missing. On a Galera cluster each script's DDL runs in total order on every node; a node lost
    /// under it, or a conflict, repeats the migration from the start on a new connection (<see cref="Failover"/>):
    /// the applied versions are read again, and a script whose answer was lost is run again, which its IF NOT
    /// EXISTS allows. The lock is taken again with it (it does not outlive its connection), and since a lock is a
    /// node's own, the bookkeeping row of a version another instance recorded meanwhile on another node is no error.
    /// </summary>
    public Task MigrateAsync(CancellationToken ct) => database.RetryAsync(MigrateOnceAsync, ct, logger, "The schema migration");

    private async Task MigrateOnceAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var acquired = await connection.ExecuteScalarAsync<int?>(
            new CommandDefinition("SELECT GET_LOCK(@name, 120)", new { name = ServerLockName.For(connection.Database, "schema") }, cancellationToken: ct));
        if (acquired != 1)
        {
            throw new InvalidOperationException("Another instance held the schema migration lock for 120 s.");
        }

        try
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                  version INT NOT NULL PRIMARY KEY,
                  name VARCHAR(200) NOT NULL,
                  applied_at DATETIME(6) NOT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """, cancellationToken: ct));

            var applied = (await connection.QueryAsync<int>(
                new CommandDefinition("SELECT version FROM schema_migrations", cancellationToken: ct))).ToHashSet();

            foreach (var (version, name, sql) in LoadScripts())
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                logger.LogInformation("Applying schema migration {Version} {Name}", version, name);
                await connection.ExecuteAsync(new CommandDefinition(sql, commandTimeout: 600, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT IGNORE INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @now)",
                    new { version, name, now = time.GetUtcNow().UtcDateTime }, cancellationToken: ct));
            }
        }
        finally
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DO RELEASE_LOCK(@name)", new { name = ServerLockName.For(connection.Database, "schema") }, cancellationToken: CancellationToken.None));
            }
            catch (Exception e) when (Failover.IsUnavailable(e))
            {
                // Gone with its session.
            }
        }
    }

    internal static IEnumerable<(int Version, string Name, string Sql)> LoadScripts()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var scripts = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = ScriptName().Match(resource);
            if (!match.Success)
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add((int.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture),
                match.Groups["name"].Value, reader.ReadToEnd()));
        }

        var duplicate = scripts.GroupBy(s => s.Item1).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two migrations share version {duplicate.Key}.");
        }

        return scripts.OrderBy(s => s.Item1);
    }

    [GeneratedRegex(@"\.Migrations\.(?<version>\d{4})_(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex ScriptName();
}
