using System.Data.Common;
using System.Text.Json;
using Dapper;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Warehouse;

/// <summary>What a run tells the catalogue of managed tables about the table it writes.</summary>
/// <param name="DisplayName">Null keeps the name a table already has (a new one is named after its interface).</param>
public sealed record TableRegistration(
    string TableName, string? DisplayName, string? Category, string? ScriptId, string InterfaceName, string WriteMode, IReadOnlyList<string> KeyColumns);

/// <summary>A managed table as the catalogue holds it; <see cref="KeyColumns"/> are the natural key its last run wrote with.</summary>
public sealed record RegisteredTable(
    string TableName, string DisplayName, string? Category, DateTime? LastUpdatedAt, string? ScriptId, string? InterfaceName, string? WriteMode,
    string? KeyColumnsJson)
{
    public IReadOnlyList<string> KeyColumns => KeyColumnsJson is null ? [] : JsonSerializer.Deserialize<List<string>>(KeyColumnsJson) ?? [];
}

/// <summary>
/// <c>warehouse_tables</c>, in the application database: the ak_* tables AkshareWeb manages and what fills them.
/// The engine registers a table when a run writes it; only registered tables are served, listed, exported or read
/// from as a value source. <c>last_updated_at</c> moves when a run changed the table, which is what readers' caches
/// are checked against. The only SQL on the table.
/// </summary>
public sealed class WarehouseTables(Database database)
{
    // In the order of RegisteredTable's constructor, which Dapper fills by position.
    private const string Columns = """
        table_name AS TableName, display_name AS DisplayName, category AS Category, last_updated_at AS LastUpdatedAt,
          script_id AS ScriptId, interface_name AS InterfaceName, write_mode AS WriteMode, CAST(key_columns AS CHAR) AS KeyColumnsJson
        """;

    /// <summary>
    /// The table with what fills it; <paramref name="wrote"/> (rows or a new table) moves last_updated_at. A
    /// table already registered keeps its display name and category unless the run names them.
    /// </summary>
    public async Task RegisterAsync(TableRegistration table, bool wrote, DateTime now, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO warehouse_tables (table_name, display_name, category, script_id, interface_name, write_mode, key_columns, created_at, last_updated_at)
            VALUES (@TableName, @display, @Category, @ScriptId, @InterfaceName, @WriteMode, @keys, @now, @updated)
            ON DUPLICATE KEY UPDATE display_name = COALESCE(@displayGiven, display_name), category = COALESCE(@Category, category),
              script_id = COALESCE(@ScriptId, script_id), interface_name = @InterfaceName, write_mode = @WriteMode, key_columns = @keys,
              last_updated_at = COALESCE(@updated, last_updated_at)
            """, new
        {
            table.TableName,
            display = table.DisplayName ?? table.InterfaceName,
            displayGiven = table.DisplayName,
            table.Category,
            table.ScriptId,
            table.InterfaceName,
            table.WriteMode,
            keys = JsonSerializer.Serialize(table.KeyColumns),
            now,
            updated = wrote ? now : (DateTime?)null,
        }, cancellationToken: ct));
    }

    /// <summary>Whether <paramref name="table"/> is a warehouse table's name and registered.</summary>
    public async Task<bool> IsRegisteredAsync(string table, CancellationToken ct)
    {
        if (!TableNames.IsWarehouseTable(table)) return false;
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM warehouse_tables WHERE table_name = @table", new { table }, cancellationToken: ct)) > 0;
    }

    /// <summary>Whether the table is registered and, if so, when a run last changed it.</summary>
    public async Task<(bool Registered, DateTime? LastUpdatedAt)> LastUpdatedAsync(string table, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleAsync<(long Count, DateTime? LastUpdatedAt)>(new CommandDefinition(
            "SELECT COUNT(*), MAX(last_updated_at) FROM warehouse_tables WHERE table_name = @table", new { table }, cancellationToken: ct));
        return (row.Count > 0, row.LastUpdatedAt);
    }

    /// <summary>The registered table; null when it is not registered.</summary>
    public async Task<RegisteredTable?> FindAsync(string table, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<RegisteredTable>(new CommandDefinition(
            $"SELECT {Columns} FROM warehouse_tables WHERE table_name = @table", new { table }, cancellationToken: ct));
    }

    /// <summary>Every registered table (of a category, when one is given), by name.</summary>
    public async Task<IReadOnlyList<RegisteredTable>> ListAsync(string? category, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<RegisteredTable>(new CommandDefinition(
            $"SELECT {Columns} FROM warehouse_tables {(category is null ? "" : "WHERE category = @category")} ORDER BY table_name",
            new { category }, cancellationToken: ct))).AsList();
    }

    /// <summary>The names of the registered tables, in order.</summary>
    public async Task<IReadOnlyList<string>> NamesAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT table_name FROM warehouse_tables ORDER BY table_name", cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// A reader's check that a table is still registered as it remembers it, as the first statement of its own batch
    /// on the application database (its one round trip then carries both); its argument is @registeredTable. Read the
    /// answer with <see cref="StillRegisteredAsync"/>.
    /// </summary>
    public const string RegistrationCheck = "SELECT COUNT(*), MAX(last_updated_at) FROM warehouse_tables WHERE table_name = @registeredTable;";

    /// <summary>Reads <see cref="RegistrationCheck"/>'s answer and moves to the batch's next result: true when the
    /// table is registered and last changed at <paramref name="lastUpdatedAt"/>.</summary>
    public static async Task<bool> StillRegisteredAsync(DbDataReader reader, DateTime? lastUpdatedAt, CancellationToken ct)
    {
        await reader.ReadAsync(ct);
        var holds = reader.GetInt64(0) > 0 && (reader.IsDBNull(1) ? null : (DateTime?)reader.GetDateTime(1)) == lastUpdatedAt;
        await reader.NextResultAsync(ct);
        return holds;
    }
}
