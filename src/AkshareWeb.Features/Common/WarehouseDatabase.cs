using Microsoft.Extensions.Configuration;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>A connection to read table data on, and whether it is on a read node (<c>ConnectionStrings:WarehouseRead</c>)
/// rather than on the warehouse itself.</summary>
public readonly record struct WarehouseReading(MySqlConnection Connection, bool OnReadNode);

/// <summary>
/// The database that holds the collected <c>ak_*</c> tables. By default it is the application database;
/// <c>ConnectionStrings:Warehouse</c> (or the admin's database setting, once applied) points it elsewhere.
/// Readers ask for <see cref="ConnectionString"/> each time, so a change applies to the next run or request.
/// <para>Table data pages and exports may read elsewhere: <c>ConnectionStrings:WarehouseRead</c>, one connection string
/// or a list of them, names other nodes of a Galera cluster holding the same tables (whatever an entry leaves out, the
/// user, password, port or database, is the configured warehouse's). They are used while the warehouse is the
/// configured one, in turn, each read on a node that has applied everything committed anywhere before it started
/// (<c>wsrep_sync_wait</c>); a read node that does not answer is passed over for the warehouse itself.</para>
/// </summary>
public sealed class WarehouseDatabase
{
    private readonly Database database;
    private readonly string? configured;
    private readonly ReadNode[] readNodes;
    private string? current;
    private int turn;

    public WarehouseDatabase(IConfiguration configuration, Database database)
    {
        this.database = database;
        var given = configuration.GetConnectionString("Warehouse");
        configured = current = string.IsNullOrWhiteSpace(given) ? null : Database.Normalise(given);
        readNodes = ReadNodes(configuration.GetSection("ConnectionStrings:WarehouseRead"), configured ?? database.ConnectionString);
    }

    public string ConnectionString => current ?? database.ConnectionString;

    /// <summary>The schema (database name) the warehouse tables are in; information_schema queries filter on it.</summary>
    public string Schema => new MySqlConnectionStringBuilder(ConnectionString).Database;

    /// <summary>How long a unit of work on the warehouse is repeated through a failover (<see cref="Database.Patience"/>).</summary>
    public TimeSpan Patience => database.Patience;

    public void Use(string? connectionString) =>
        current = string.IsNullOrWhiteSpace(connectionString) ? null : Database.Normalise(connectionString);

    public Task<MySqlConnection> OpenAsync(CancellationToken ct) => Database.OpenAsync(ConnectionString, ct);

    /// <summary>
    /// A connection for reading table data: on the next read node while the warehouse is the configured one (an
    /// admin's change of warehouse leaves the read nodes, which hold the old one's tables, aside), else on the warehouse.
    /// </summary>
    public async Task<WarehouseReading> OpenForReadingAsync(CancellationToken ct)
    {
        if (readNodes.Length > 0 && current == configured)
        {
            var first = (int)((uint)Interlocked.Increment(ref turn) % (uint)readNodes.Length);
            for (var i = 0; i < readNodes.Length; i++)
            {
                var node = readNodes[(first + i) % readNodes.Length];
                try
                {
                    return new WarehouseReading(await node.OpenAsync(ct), true);
                }
                catch (Exception e) when (Failover.IsUnavailable(e) && !ct.IsCancellationRequested)
                {
                    // Passed over: the next one, or the warehouse.
                }
            }
        }

        return new WarehouseReading(await OpenAsync(ct), false);
    }

    private static ReadNode[] ReadNodes(IConfigurationSection section, string warehouse)
    {
        var entries = string.IsNullOrWhiteSpace(section.Value)
            ? section.GetChildren().Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!).ToList()
            : [section.Value];
        return entries.Select(entry =>
        {
            var own = new MySqlConnectionStringBuilder(entry);
            var merged = new MySqlConnectionStringBuilder(warehouse) { LoadBalance = MySqlLoadBalance.RoundRobin };
            foreach (string key in own.Keys) merged[key] = own[key];
            // Reads take the nodes in turn: they lock nothing, so spreading them costs no conflicts.
            return new ReadNode(Database.NormaliseSession(merged.ConnectionString));
        }).ToArray();
    }

    private sealed class ReadNode(string connectionString)
    {
        /// <summary>Null until known; false for a server without Galera's variable (MySQL), which gets no causal read.</summary>
        private bool? galera;

        public async Task<MySqlConnection> OpenAsync(CancellationToken ct)
        {
            var connection = await Database.OpenAsync(connectionString, ct);
            if (galera == false) return connection;
            try
            {
                // A read on this node waits until it has applied what any node committed before: a page read right
                // after a run's last batch counts that batch, as it would on the node the run wrote to.
                await using var command = new MySqlCommand("SET SESSION wsrep_sync_wait = 1", connection);
                await command.ExecuteNonQueryAsync(ct);
                galera = true;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.UnknownSystemVariable)
            {
                galera = false;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }

            return connection;
        }
    }
}
