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
