using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// The <c>cursor</c> of /data: base64url of <c>{"q": fingerprint, "k": [sort keys of the last row, id last]}</c>.
/// The fingerprint is a hash of the table, the order and the filters, so a cursor handed to another query is
/// refused (422) instead of silently paging something else. Opaque to clients; nothing in it is trusted: the
/// values are bound as parameters of the columns' types.
/// </summary>
public static class TableCursor
{
    /// <summary>Longer than any cursor this endpoint gives (a handful of key values).</summary>
    private const int MaxLength = 4096;

    private sealed record Body(
        [property: JsonPropertyName("q")] string Query,
        [property: JsonPropertyName("k")] string?[] Keys);

    public static string Fingerprint(string table, SortPlan plan, string filterSignature)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{table}\u001e{plan.Signature()}\u001e{filterSignature}"));
        return Base64Url.EncodeToString(hash.AsSpan(0, 12));
    }

    public static string Encode(string fingerprint, IReadOnlyList<string?> keys) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new Body(fingerprint, [.. keys])));

    /// <summary>The key values of a cursor given for this query, else a 422 on <c>cursor</c>.</summary>
    public static IReadOnlyList<string?> Decode(string cursor, string fingerprint, SortPlan plan)
    {
        Body? body;
        try
        {
            body = cursor.Length <= MaxLength ? JsonSerializer.Deserialize<Body>(Base64Url.DecodeFromChars(cursor)) : null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            body = null;
        }

        if (body?.Query is null || body.Keys is null) throw ApiError.Validation("cursor", "not a cursor of this endpoint: use next_cursor as it was given");
        if (body.Query != fingerprint || body.Keys.Length != plan.Keys.Count)
        {
            throw ApiError.Validation("cursor", "the cursor belongs to another table, sort or filter: page from the start of this query instead");
        }

        for (var i = 0; i < plan.Keys.Count; i++)
        {
            var key = plan.Keys[i];
            var fits = body.Keys[i] is { } token ? KeyValues.Fits(key, token) : key.Nullable;
            if (!fits) throw ApiError.Validation("cursor", "not a cursor of this endpoint: use next_cursor as it was given");
        }

        return body.Keys;
    }
}
