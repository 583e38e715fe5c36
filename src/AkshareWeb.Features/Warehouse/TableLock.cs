using System.Security.Cryptography;
using System.Text;
using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// The per-table write lock (a named server lock, so it holds across instances): writers of one table take turns
/// batch by batch, so a key is looked up and written as one step, and an index is built while no batch looks keys up.
/// </summary>
public static class TableLock
{
    /// <summary>How long a writer waits for the lock before it gives up.</summary>
    public const int WaitSeconds = 600;

    public static string Name(string database, string table) =>
        "akshareweb:w:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(database + "." + table)))[..32];

    /// <summary>True when the lock was taken within <see cref="WaitSeconds"/>.</summary>
    public static async Task<bool> TryTakeAsync(MySqlConnection connection, string table, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@name, @wait)",
            new { name = Name(connection.Database, table), wait = WaitSeconds }, cancellationToken: ct)) == 1;

    public static async Task ReleaseAsync(MySqlConnection connection, string table) =>
        await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name = Name(connection.Database, table) }));
}
