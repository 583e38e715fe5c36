using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;
using MySqlConnector;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Keeps ASP.NET Data Protection keys in the application database, so every instance can read what another
/// encrypted (the warehouse password) and the keys survive a redeploy. Data Protection calls it synchronously.
/// </summary>
public sealed class DatabaseXmlRepository(Database database, TimeProvider time) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = new MySqlConnection(database.ConnectionString);
        connection.Open();
        return connection.Query<string>("SELECT xml FROM data_protection_keys ORDER BY id").Select(XElement.Parse).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = new MySqlConnection(database.ConnectionString);
        connection.Open();
        connection.Execute(
            "INSERT IGNORE INTO data_protection_keys (friendly_name, xml, created_at) VALUES (@friendlyName, @xml, @now)",
            new { friendlyName, xml = element.ToString(SaveOptions.DisableFormatting), now = time.GetUtcNow().UtcDateTime });
    }

    /// <summary>The stored keys as they are, for <see cref="KeyRingProtection"/> at start.</summary>
    public async Task<IReadOnlyList<(long Id, string Xml)>> ReadStoredAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<(long, string)>(new CommandDefinition("SELECT id, xml FROM data_protection_keys ORDER BY id", cancellationToken: ct))).AsList();
    }

    /// <summary>Replaces a stored key unless another instance changed it meanwhile (then theirs stands).</summary>
    public async Task<bool> ReplaceAsync(long id, string stored, XElement replacement, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE data_protection_keys SET xml = @replacement WHERE id = @id AND xml = @stored",
            new { id, stored, replacement = replacement.ToString(SaveOptions.DisableFormatting) }, cancellationToken: ct)) == 1;
    }
}
