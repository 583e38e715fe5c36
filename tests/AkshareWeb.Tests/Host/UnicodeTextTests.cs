using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkshareWeb.Features.Auth;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// Noncharacters (U+FFFE, U+FFFF, U+FDD0..U+FDEF, the last two of other planes) and lone surrogates are no text: every
/// text field of every operation the app's own OpenAPI document lists (path and query parameters, every string of a
/// request body, a body's free-form objects included) answers them with a 4xx in the envelope, the body's and query's
/// with a 422 naming the field. Other code points, however odd, never make a server error.
/// </summary>
public sealed partial class UnicodeTextTests(CollectingApp app) : IClassFixture<CollectingApp>
{
    /// <summary>As JSON string contents (escapes), so that lone surrogates can be sent at all.</summary>
    private static readonly string[] NotText = ["\\ufffe", "\\uffff", "\\ufdd0", "\\ufdef", "a\\ud800", "\\udfffb", "\\ud83f\\udffe", "\\udbff\\udfff"];

    /// <summary>The noncharacters in a URL: UTF-8, percent-encoded. A lone surrogate has no UTF-8 to send there (its
    /// CESU-8 bytes are read as U+FFFD, which is text).</summary>
    private static readonly string[] NotTextInUrls = ["%EF%BF%BE", "%EF%BF%BF", "%EF%B7%90", "%EF%B7%AF", "%F0%9F%BF%BE", "%F4%8F%BF%BF"];

    /// <summary>Odd text: control characters, a byte order mark, direction overrides, combining marks alone, private use, astral.</summary>
    private static readonly string[] OddText = ["\\u0000", "\\u0001\\u001f", "\\ufeff", "\\u202e\\u200b", "\\u0301", "\\ue000\\udbbf\\udffd", "\\ud83d\\udcc8", "\\ufffd"];

    [Fact]
    public async Task Every_text_field_of_every_operation_answers_a_noncharacter_or_a_lone_surrogate_with_a_4xx()
    {
        var admin = await app.AdminAsync();
        var document = JsonNode.Parse(await admin.GetStringAsync("/swagger/v1/swagger.json"))!;
        var failures = new List<string>();
        var sent = 0;
        foreach (var (method, path, operation) in Operations(document))
        {
            foreach (var (url, body, field) in Cases(document, path, operation, NotText, NotTextInUrls))
            {
                sent++;
                var (status, envelope) = await SendAsync(admin, method, url, body);
                if (status is < 400 or >= 500 || envelope is null)
                {
                    failures.Add($"{method} {url} {body} -> {status}");
                }
                else if (field is not null && (status != 422 || envelope["detail"]?.AsArray().Any(d => d?["field"]?.GetValue<string>() == field) != true))
                {
                    failures.Add($"{method} {url} {body} -> {status}, not a 422 naming {field}: {envelope.ToJsonString()}");
                }
            }
        }

        Assert.True(sent > 300, $"only {sent} requests: the document's text fields were not found");
        Assert.True(failures.Count == 0, $"{failures.Count} of {sent}:\n" + string.Join("\n", failures.Take(40)));
    }

    [Fact]
    public async Task Odd_but_valid_text_in_every_text_field_never_makes_a_server_error()
    {
        var admin = await app.AdminAsync();
        var document = JsonNode.Parse(await admin.GetStringAsync("/swagger/v1/swagger.json"))!;
        var failures = new List<string>();
        foreach (var (method, path, operation) in Operations(document))
        {
            // Nothing that would change the admin's own account or session, or move the warehouse away.
            if (path is "/api/auth/password" or "/api/auth/logout" or "/api/settings/database") continue;
            foreach (var (url, body, _) in Cases(document, path, operation, OddText, ["%00", "%EF%BB%BF", "%E2%80%AE", "%F0%9F%93%88"]))
            {
                var (status, envelope) = await SendAsync(admin, method, url, body);
                if (status >= 500 || (envelope is null && !url.Contains("/export", StringComparison.Ordinal))) failures.Add($"{method} {url} {body} -> {status}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(40)));
    }

    [Fact]
    public void A_login_name_of_any_code_point_folds_without_throwing()
    {
        for (var scalar = 0; scalar <= 0x10FFFF; scalar++)
        {
            if (scalar is >= 0xD800 and <= 0xDFFF) continue;
            _ = LoginAttempts.Fold("a" + char.ConvertFromUtf32(scalar) + "b");
        }

        foreach (var lone in new[] { "\ud800", "a\udfff", "\udbff" }) _ = LoginAttempts.Fold(lone);
    }

    private static IEnumerable<(string Method, string Path, JsonNode Operation)> Operations(JsonNode document) =>
        document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(o => (o.Key.ToUpperInvariant(), p.Key, o.Value!)))
            // Logout last: it ends the session the walk uses.
            .OrderBy(o => o.Key == "/api/auth/logout");

    /// <summary>
    /// One request per text field and value: the path with one parameter of it bad, the query with one parameter bad,
    /// or a body whose fields are all plausible but one string (top-level, nested, or a value of a free-form object).
    /// The field is named when the refusal must name it (a body's or a query's).
    /// </summary>
    private static IEnumerable<(string Url, string? Body, string? Field)> Cases(JsonNode document, string path, JsonNode operation, string[] jsonValues, string[] urlValues)
    {
        var parameters = operation["parameters"]?.AsArray().Select(p => (Name: p!["name"]!.GetValue<string>(), In: p["in"]!.GetValue<string>())).ToList() ?? [];
        var body = operation["requestBody"]?["content"]?["application/json"]?["schema"];
        // Ids no resource has: nothing that exists is touched when a handler gets that far.
        string Url(string? only = null, string? value = null) => PathParameter().Replace(path, m => m.Groups[1].Value == only ? value! : "999999");

        foreach (var (name, _) in parameters.Where(p => p.In == "path"))
        {
            // No NUL in a path: servers refuse it before any application (the test server's client throws).
            foreach (var value in urlValues.Where(v => v != "%00")) yield return (Url(name, value), body is null ? null : "{}", null);
        }

        foreach (var (name, _) in parameters.Where(p => p.In == "query"))
        {
            foreach (var value in urlValues) yield return ($"{Url()}?{name}={value}", null, name);
        }

        if (body is null) yield break;
        foreach (var (field, json) in Strings(document, body, ""))
        {
            foreach (var value in jsonValues) yield return (Url(), json($"\"{value}\""), field);
        }
    }

    /// <summary>
    /// Every string a body of this schema can hold, each as its field and a body with that string set to the value
    /// given and every other field plausible: a string "x", a number 1, true, an enum's first value, an object's own.
    /// </summary>
    private static IEnumerable<(string Field, Func<string, string> Body)> Strings(JsonNode document, JsonNode schema, string prefix)
    {
        schema = Resolve(document, schema);
        if (schema["enum"] is not null) yield break;
        switch (schema["type"]?.GetValue<string>())
        {
            case "string":
                yield return (prefix, value => value);
                yield break;
            case "array" when schema["items"] is { } items:
                foreach (var (field, inner) in Strings(document, items, prefix + "[0]")) yield return (field, value => $"[{inner(value)}]");
                yield break;
            case "object" when schema["properties"] is null:
                // Free-form (a data script's parameters): a value, and a name.
                var key = prefix.Length == 0 ? "symbol" : prefix + ".symbol";
                yield return (key, value => $"{{\"symbol\":{value}}}");
                yield return (prefix.Length == 0 ? "body" : prefix, value => $"{{{value}:\"000001\"}}");
                yield break;
        }

        var properties = schema["properties"]?.AsObject().ToList() ?? [];
        foreach (var (name, property) in properties)
        {
            foreach (var (field, inner) in Strings(document, property!, prefix.Length == 0 ? name : $"{prefix}.{name}"))
            {
                yield return (field, value => "{" + string.Join(",", properties.Select(p => $"\"{p.Key}\":" + (p.Key == name ? inner(value) : Plausible(document, p.Value!)))) + "}");
            }
        }
    }

    private static string Plausible(JsonNode document, JsonNode schema)
    {
        schema = Resolve(document, schema);
        if (schema["enum"]?.AsArray() is { Count: > 0 } values) return values[0]!.ToJsonString();
        return schema["type"]?.GetValue<string>() switch
        {
            "string" => "\"x\"",
            "integer" or "number" => "1",
            "boolean" => "true",
            "array" => "[]",
            _ => "{}",
        };
    }

    private static JsonNode Resolve(JsonNode document, JsonNode schema)
    {
        while (true)
        {
            if (schema["$ref"]?.GetValue<string>() is { } reference) schema = document["components"]!["schemas"]![reference.Split('/')[^1]]!;
            else if ((schema["oneOf"] ?? schema["anyOf"] ?? schema["allOf"])?.AsArray().FirstOrDefault(s => s?["type"]?.GetValue<string>() != "null") is { } first) schema = first;
            else return schema;
        }
    }

    private static async Task<(int Status, JsonNode? Envelope)> SendAsync(HttpClient client, string method, string url, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null) request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) { Headers = { { "Content-Type", "application/json" } } };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? envelope = null;
        try
        {
            if (JsonNode.Parse(text) is JsonObject o && o.ContainsKey("code") && o.ContainsKey("message") && ((int)response.StatusCode < 400 || o.ContainsKey("detail"))) envelope = o;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return ((int)response.StatusCode, envelope);
    }

    [GeneratedRegex(@"\{([^}]+)\}")]
    private static partial Regex PathParameter();
}
