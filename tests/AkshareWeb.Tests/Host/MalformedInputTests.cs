using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkshareWeb.Tests.Infrastructure;
using Xunit.Abstractions;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// Walks every operation of the committed openapi.json with malformed input (wrong types, missing fields, huge
/// values, odd Unicode with lone surrogates, bad charsets, hostile identifiers in path and query) as anonymous,
/// user and admin, and checks what a client of an exposed service sees: never a 5xx, always the envelope, never
/// internals (type names, framework wording, database errors, stack text, upstream HTML).
/// </summary>
public sealed partial class MalformedInputTests(CollectingApp app, ITestOutputHelper output) : IClassFixture<CollectingApp>
{
    // Bounds: the walk is a few thousand requests; more would only repeat the same classes of input.
    private const int MaxRequests = 16_000;
    private static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(5);

    private static readonly string Huge = new('x', 100_000);

    // Marks a body sent as Latin-1 bytes (0xFF 0xFE ...) under plain application/json: bytes that are not UTF-8.
    private static readonly string NotUtf8Json = new("application/json (not UTF-8)".AsSpan());

    // Raw JSON texts: a lone surrogate cannot live in a .NET string that a serializer would write, so values are
    // spliced into the body as text.
    private static readonly string[] StringValues =
    [
        "12345", "true", "{}", "[]", "\"\"", $"\"{Huge}\"", "\"\\ud800\"", "\"a\\udfffb\"", "\"\\u0000\"",
        "\"\\ud835\\udd4f\\u200b\\u202e\\ufeff\"", "\"' OR 1=1 -- \"", "\"`; DROP TABLE users; --\"",
        "\"=HYPERLINK(\\\"http://x\\\")\"", "\"   \"",
    ];

    private static readonly string[] IntegerValues =
    [
        "\"abc\"", "1.5", "1e400", "9223372036854775808", "-9223372036854775809", "2147483648", "-1", "0", "true", "{}", "[]", "\"\\ud800\"",
    ];

    private static readonly string[] BooleanValues = ["\"yes\"", "1", "{}", "[]", "\"\\ud800\""];

    private static readonly string[] FreeFormValues =
    [
        "\"text\"", "[]", "42", "{\"symbol\":\"\\ud800\"}", "{\"\\ud800\":\"x\"}", "{\"symbol\":\"a\\udc00\"}",
        "{\"symbol\":{\"a\":[1]}}", $"{{\"symbol\":\"{Huge}\"}}", "{\"symbol\":\"\\u0000\"}",
        string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200),
    ];

    private static readonly string[] WholeBodies =
    [
        "", "null", "[]", "\"text\"", "{", "{\"a\":", "{\"a\" 1}", "{\"\\ud800\":1}", "{\"a\":\"\\ud800\"}", "{}{}",
        $"[{string.Join(',', Enumerable.Repeat("{}", 20_000))}]",
    ];

    // No %00: servers refuse a NUL in the path before the application (TestServer's client throws on it).
    private static readonly string[] PathValues =
    [
        "0", "-1", "99999999999999999999999", "abc", "1.5", "..%2F..%2Fetc%2Fpasswd", "ak_x%60%3B%20DROP%20TABLE%20users",
        "users", "schema_migrations", "information_schema.tables", "%F0%9F%92%A5", "%ED%A0%80", "%C3%28", new string('a', 3000),
    ];

    private static readonly string[] QueryValues =
    [
        "abc", "-1", "0", "99999999999999999999", "1e9", "%00", "%ED%A0%80", "%C3%28", new string('9', 5000),
        "id%60%3B%20DROP%20TABLE%20users", "id%20DESC%2C%20(SELECT%20SLEEP(5))", "_row_hash",
    ];

    private static readonly string[] ExtraQueries =
    [
        "filter=1", "filter[id][]=1", "filter[]=1", "filter[%60x%60]=1", "filter[_row_key]=1", "filter[id][gte]=notanumber",
        "filter[id][between]=1", "filter[%ED%A0%80]=1", "page=1&page=2", "page_size=100000",
    ];

    // Fields that must be valid for a handler to look further (a real script, interface, table): one field at a
    // time is then made malformed. Objects that would change the service (the warehouse settings) get no valid base.
    private readonly Dictionary<string, Dictionary<string, string>> bases = new(StringComparer.Ordinal);

    [Fact]
    public async Task Every_operation_answers_malformed_input_in_the_envelope_without_a_server_error_or_internals()
    {
        var (tableName, interfaceId) = await PrepareAsync();
        var document = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(OpenApiDocumentTests.RepositoryRoot(), "openapi.json")))!;
        var operations = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Method: o.Key.ToUpperInvariant(), Path: p.Key, Operation: o.Value!)))
            .OrderBy(o => o.Path == "/api/auth/logout") // logout last: it ends the walkers' sessions
            .ToList();

        bases["POST /api/data/download"] = new() { ["interface_id"] = interfaceId.ToString(System.Globalization.CultureInfo.InvariantCulture), ["parameters"] = "{\"symbol\":\"000001\"}" };
        bases["POST /api/tasks"] = new()
        {
            ["name"] = "\"fuzz\"", ["script_id"] = "\"stock_zh_a_hist\"", ["schedule_type"] = "\"cron\"",
            ["schedule_expression"] = "\"0 15 * * 1-5\"", ["parameters"] = "{\"symbol\":\"000001\"}", ["is_active"] = "false",
        };
        bases["PUT /api/tasks/{taskId}"] = bases["POST /api/tasks"];
        bases["POST /api/scripts/{scriptId}/test"] = new() { ["parameters"] = "{\"symbol\":\"000001\"}" };

        var roles = new (string Name, HttpClient Client)[]
        {
            ("anonymous", app.CreateClient()),
            ("user", (await app.NewUserAsync()).Client),
            ("admin", await app.AdminAsync()),
        };
        var taskId = await CreateTaskAsync(roles[1].Client);
        var realIds = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["tableName"] = tableName, ["scriptId"] = "stock_zh_a_hist", ["taskId"] = taskId, ["interfaceId"] = interfaceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        // One example per operation, status and kind of problem: the same fault repeats for every role and value.
        var failures = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var statusClasses = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var statuses = new SortedDictionary<int, int>();
        var requests = 0;
        var clock = Stopwatch.StartNew();

        foreach (var (method, path, operation) in operations)
        {
            var key = $"{method} {path}";
            foreach (var (role, client) in roles)
            {
                foreach (var (url, body, contentType) in Cases(document, key, method, path, operation, realIds))
                {
                    if (requests >= MaxRequests || clock.Elapsed > MaxDuration) break;
                    requests++;
                    var (status, problem) = await SendAsync(client, method, url, body, contentType);
                    var statusClass = $"{status / 100}xx";
                    statusClasses[statusClass] = statusClasses.GetValueOrDefault(statusClass) + 1;
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                    if (problem is not null)
                    {
                        failures.TryAdd($"{key} {status} {problem.Split(':')[0]} {(status >= 500 ? Shorten(body ?? url)[..Math.Min(80, (body ?? url).Length)] : "")}", $"{key} as {role}: {method} {Shorten(url)} body={Shorten(body ?? "")} ({contentType}) -> {status}: {problem}");
                    }
                }
            }
        }

        output.WriteLine($"{requests} requests in {clock.Elapsed.TotalSeconds:F1} s over {operations.Count} operations: " +
            string.Join(", ", statusClasses.Select(c => $"{c.Key} {c.Value}")) + " (" + string.Join(", ", statuses.Select(c => $"{c.Key}: {c.Value}")) + ")");
        Assert.True(requests >= 2_000, $"only {requests} requests were sent in {clock.Elapsed}");
        Assert.True(requests < MaxRequests && clock.Elapsed <= MaxDuration, $"the walk was cut short at {requests} requests, {clock.Elapsed}");
        Assert.True(failures.Count == 0, $"{failures.Count} kinds of failure:\n" + string.Join("\n", failures.Values));
    }

    private IEnumerable<(string Url, string? Body, string? ContentType)> Cases(
        JsonNode document, string key, string method, string path, JsonNode operation, Dictionary<string, string> realIds)
    {
        var parameters = operation["parameters"]?.AsArray().Select(p => (Name: p!["name"]!.GetValue<string>(), In: p["in"]!.GetValue<string>(),
            Type: p["schema"]?["type"]?.GetValue<string>())).ToList() ?? [];
        var pathNames = parameters.Where(p => p.In == "path").Select(p => p.Name).ToList();
        var queryNames = parameters.Where(p => p.In == "query").ToList();
        var hasBody = operation["requestBody"] is not null;

        // A path with real ids where there are some, so that body and query cases reach the handler.
        string Real(string? hostile = null, string? only = null) =>
            PathParameter().Replace(path, m =>
            {
                var name = m.Groups[1].Value;
                if (hostile is not null && (only is null || only == name)) return hostile;
                return realIds.TryGetValue(name, out var id) ? id : "999999";
            });

        var baseFields = bases.GetValueOrDefault(key) ?? [];
        var emptyBody = hasBody ? Body(baseFields) : null;

        yield return (Real(), emptyBody, hasBody ? "application/json" : null);

        foreach (var name in pathNames)
        {
            foreach (var value in PathValues) yield return (Real(value, name), emptyBody, hasBody ? "application/json" : null);
        }

        foreach (var (name, _, type) in queryNames)
        {
            foreach (var value in QueryValues) yield return ($"{Real()}?{name}={value}", null, null);
            if (type is "integer") yield return ($"{Real()}?{name}=", null, null);
        }

        if (method == "GET" && queryNames.Count > 0)
        {
            foreach (var extra in ExtraQueries) yield return ($"{Real()}?{extra}", null, null);
        }

        if (!hasBody) yield break;

        foreach (var whole in WholeBodies) yield return (Real(), whole, "application/json");
        foreach (var contentType in new[] { "application/json; charset=bogus", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=\"" })
        {
            yield return (Real(), emptyBody, contentType);
        }

        yield return (Real(), "\u00ff\u00fe{\"a\":1}", NotUtf8Json);

        var schema = Resolve(operation["requestBody"]!["content"]!["application/json"]!["schema"]!);
        foreach (var (name, property) in schema?["properties"]?.AsObject() ?? [])
        {
            var values = property?["type"]?.GetValue<string>() switch
            {
                "string" => StringValues,
                "integer" or "number" => IntegerValues,
                "boolean" => BooleanValues,
                _ => FreeFormValues,
            };
            foreach (var value in values)
            {
                var fields = new Dictionary<string, string>(baseFields, StringComparer.Ordinal) { [name] = value };
                yield return (Real(), Body(fields), "application/json");
            }

            // The field missing, and null.
            var without = new Dictionary<string, string>(baseFields, StringComparer.Ordinal);
            without.Remove(name);
            yield return (Real(), Body(without), "application/json");
            yield return (Real(), Body(new Dictionary<string, string>(baseFields, StringComparer.Ordinal) { [name] = "null" }), "application/json");
        }

        JsonNode? Resolve(JsonNode node) =>
            node["$ref"]?.GetValue<string>() is { } reference ? document["components"]!["schemas"]![reference.Split('/')[^1]] : node;
    }

    private static string Body(Dictionary<string, string> fields) =>
        "{" + string.Join(",", fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}";

    private static async Task<(int Status, string? Problem)> SendAsync(HttpClient client, string method, string url, string? body, string? contentType)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null && contentType is not null)
        {
            var notUtf8 = ReferenceEquals(contentType, NotUtf8Json);
            request.Content = new ByteArrayContent(notUtf8 ? Encoding.Latin1.GetBytes(body) : Encoding.UTF8.GetBytes(body));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", notUtf8 ? "application/json" : contentType);
        }

        using var response = await client.SendAsync(request);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        if (status >= 500) return (status, "server error: " + Shorten(text));

        var json = response.Content.Headers.ContentType?.MediaType == "application/json";
        if (!json)
        {
            // Only a successful export is not JSON.
            return status is >= 200 and < 300 && url.Contains("/export", StringComparison.Ordinal) ? (status, null) : (status, $"not JSON ({response.Content.Headers.ContentType}): {Shorten(text)}");
        }

        JsonNode? envelope;
        try
        {
            envelope = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return (status, "unreadable JSON: " + Shorten(text));
        }

        if (envelope is not JsonObject o || o["code"]?.GetValueKind() != JsonValueKind.Number || o["message"]?.GetValueKind() != JsonValueKind.String)
        {
            return (status, "not the envelope: " + Shorten(text));
        }

        if (status >= 400 && !o.ContainsKey("detail")) return (status, "an error without detail: " + Shorten(text));
        if (status >= 400 && Internals().Match(text) is { Success: true } leak) return (status, $"internals {leak.Value}: {Shorten(text)}");
        return (status, null);
    }

    private async Task<(string Table, long InterfaceId)> PrepareAsync()
    {
        app.AkTools.Rows("macro_china_cpi", new Dictionary<string, object> { ["月份"] = "2024年01月份", ["全国-当月"] = 99.2, ["备注"] = "=1+1" });
        // The script the body cases name answers, so that a test run or download reaches its end.
        app.AkTools.Rows("stock_zh_a_hist", new Dictionary<string, object> { ["日期"] = "2024-01-02", ["股票代码"] = "000001", ["收盘"] = 9.5 });
        var run = await app.DownloadAsync("macro_china_cpi");
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        await using var db = await app.OpenDatabaseAsync();
        var id = await Dapper.SqlMapper.ExecuteScalarAsync<long>(db, "SELECT id FROM interfaces WHERE name = 'stock_zh_a_hist'");
        return ("ak_macro_china_cpi", id);
    }

    private static async Task<string> CreateTaskAsync(HttpClient user)
    {
        using var content = new StringContent(
            """{"name":"fuzz target","script_id":"stock_zh_a_hist","schedule_type":"cron","schedule_expression":"0 15 * * 1-5","parameters":{"symbol":"000001"},"is_active":false}""",
            Encoding.UTF8, "application/json");
        var body = await (await user.PostAsync("/api/tasks", content)).ExpectAsync(201, 0);
        return body["data"]!["id"]!.ToString();
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"…({text.Length} chars)";

    [GeneratedRegex(@"\{([^}]+)\}")]
    private static partial Regex PathParameter();

    // What a client must never read: .NET type names, framework wording, database errors, stack frames, HTML pages.
    [GeneratedRegex(@"AkshareWeb\.|System\.|Microsoft\.|MySqlConnector|MySQL error|Nullable`?<|Implicit body|Failed to bind|Exception|\n\s+at |<html|<HTML|<!DOCTYPE|<!doctype|JsonElement|Path: \$|LineNumber")]
    private static partial Regex Internals();
}
