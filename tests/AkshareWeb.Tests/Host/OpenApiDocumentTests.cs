using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

public sealed class OpenApiDocumentTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task Committed_openapi_json_is_the_one_the_app_serves()
    {
        var served = await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json");
        var normalised = JsonNode.Parse(served)!.ToJsonString(new System.Text.Json.JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }) + "\n";
        var path = Path.Combine(RepositoryRoot(), "openapi.json");

        if (Environment.GetEnvironmentVariable("AKSHAREWEB_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(path, normalised);
        }

        Assert.True(File.Exists(path), "openapi.json is missing at the repository root; run scripts/openapi.sh");
        var committed = await File.ReadAllTextAsync(path);
        Assert.True(committed == normalised, "openapi.json is stale: run scripts/openapi.sh and commit the result");
    }

    [Fact]
    public async Task Document_declares_the_bearer_scheme_and_endpoint_descriptions_and_swagger_ui_is_served()
    {
        var client = app.CreateClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"))!;
        var scheme = document["components"]!["securitySchemes"]!["Bearer"]!;
        Assert.Equal("http", scheme["type"]!.GetValue<string>());
        Assert.Equal("bearer", scheme["scheme"]!.GetValue<string>());
        // What an endpoint says of itself reaches the document (and the clients generated from it).
        Assert.Contains("estimate", document["paths"]!["/api/tables"]!["get"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        var ui = await client.GetAsync("/swagger/index.html");
        Assert.Equal(200, (int)ui.StatusCode);
    }

    [Fact]
    public async Task Schema_names_are_the_slices_own_and_never_numbered_or_generic()
    {
        var document = JsonNode.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json"))!;
        var names = document["components"]!["schemas"]!.AsObject().Select(s => s.Key).ToList();
        // A number is how NSwag resolves two types of one name: adding an endpoint would rename the SDK's types.
        var poor = names.Where(n => char.IsDigit(n[^1]) || (AkshareWeb.Api.Setup.OpenApiSchemaNames.Generic.Contains(n) && n != "Envelope")).ToList();
        Assert.True(poor.Count == 0, "numbered or generic schema names: " + string.Join(", ", poor));
        foreach (var expected in new[] { "RegisterRequest", "LoginRequest", "RefreshRequest", "TokenPair", "CreateTaskRequest", "UpdateTaskRequest", "DownloadRequest", "DownloadStarted", "DownloadStatus", "ExecutionView", "TableDataPage", "ErrorEnvelope" })
        {
            Assert.Contains(expected, names);
        }

        // Every nested type of every slice, not only those in today's document: two slices must never meet on a name.
        var clashes = typeof(AkshareWeb.Features.Common.Database).Assembly.GetTypes()
            .Where(t => t.IsPublic || t.IsNestedPublic)
            .Where(t => !t.IsAbstract && !t.IsGenericTypeDefinition && !typeof(Delegate).IsAssignableFrom(t))
            .Where(t => !t.Name.Contains("Validator", StringComparison.Ordinal) && !t.Name.Contains("Handler", StringComparison.Ordinal))
            .GroupBy(AkshareWeb.Api.Setup.OpenApiSchemaNames.NameOf)
            .Where(g => g.Count() > 1)
            .Select(g => g.Key + ": " + string.Join(", ", g.Select(t => t.FullName)))
            .ToList();
        Assert.True(clashes.Count == 0, "types that would share a schema name: " + string.Join("; ", clashes));
    }

    [Fact]
    public async Task Answers_are_required_closed_sets_are_enums_and_ignored_fields_are_gone()
    {
        var document = JsonNode.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json"))!;
        var schemas = document["components"]!["schemas"]!;
        string[] Required(string schema) => schemas[schema]!["required"]?.AsArray().Select(n => n!.GetValue<string>()).ToArray() ?? [];
        string Ref(string schema, string property) => schemas[schema]!["properties"]![property]!["$ref"]?.GetValue<string>() ?? "";

        Assert.Equal(["access_token", "refresh_token", "token_type", "expires_in"], Required("TokenPair"));
        Assert.Equal(["code", "message", "data"], Required("EnvelopeOfTokenPair"));
        Assert.Equal("#/components/schemas/TokenPair", Ref("EnvelopeOfTokenPair", "data"));
        Assert.Equal(["username", "email", "password", "password_confirm"], Required("RegisterRequest"));
        Assert.Contains("execution_id", Required("ExecutionView"));
        Assert.Equal("#/components/schemas/ExecutionStatus", Ref("ExecutionView", "status"));
        Assert.Equal("#/components/schemas/TriggeredBy", Ref("ExecutionView", "triggered_by"));
        Assert.Equal("#/components/schemas/Role", Ref("UserProfile", "role"));
        Assert.Equal("#/components/schemas/ScheduleType", Ref("CreateTaskRequest", "schedule_type"));
        Assert.Equal("#/components/schemas/WriteMode", Ref("ScriptDetail", "write_mode"));
        Assert.Equal("#/components/schemas/ErrorCode", Ref("ErrorEnvelope", "code"));
        Assert.Equal(["pending", "running", "completed", "failed", "cancelled", "timeout"], schemas["ExecutionStatus"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains(3001, schemas["ErrorCode"]!["enum"]!.AsArray().Select(n => n!.GetValue<int>()));

        // The server takes these from the token, never from the body.
        Assert.Null(schemas["DownloadRequest"]!["properties"]!["user_id"]);
        Assert.Null(schemas["UpdateSettingsRequest"]!["properties"]!["user_id"]);
        Assert.Null(schemas["UpdateDatabaseSettingsRequest"]!["properties"]!["user_id"]);
        Assert.Null(schemas["CreateTaskRequest"]!["properties"]!["owner_id"]);

        var paths = document["paths"]!;
        var export = paths["/api/tables/{tableName}/export"]!["get"]!;
        Assert.Equal("binary", export["responses"]!["200"]!["content"]!["text/csv"]!["schema"]!["format"]!.GetValue<string>());
        Assert.NotNull(export["responses"]!["200"]!["content"]!["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]);
        var pageSize = paths["/api/executions"]!["get"]!["parameters"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "page_size")!["schema"]!;
        Assert.Equal(1, pageSize["minimum"]!.GetValue<double>());
        Assert.Equal(100, pageSize["maximum"]!.GetValue<double>());
        Assert.Contains("stops working", paths["/api/auth/refresh"]!["post"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(paths["/api/auth/register"]!["post"]!["requestBody"]!["content"]!["application/json"]!["example"]);

        foreach (var (path, item) in paths.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var responses = operation!["responses"]!.AsObject();
                Assert.True(responses.ContainsKey("429"), $"{method} {path} does not declare 429");
                if (operation["security"] is not null) Assert.True(responses.ContainsKey("401"), $"{method} {path} does not declare 401");
                if (operation["requestBody"] is { } body)
                {
                    Assert.True(body["content"]!["application/json"]!["example"] is not null, $"{method} {path} has no request example (OpenApiShape.Examples)");
                }

                foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
                {
                    Assert.Equal("#/components/schemas/ErrorEnvelope", response!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
                }
            }
        }
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AkshareWeb.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("AkshareWeb.sln not found above the test binaries");
    }
}
