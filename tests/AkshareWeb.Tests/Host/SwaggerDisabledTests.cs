using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

/// <summary>An operator can stop publishing the API's map.</summary>
public sealed class SwaggerDisabledTests(SwaggerDisabledTests.App app) : IClassFixture<SwaggerDisabledTests.App>
{
    public sealed class App : AkshareWebApp
    {
        public App() => Set("Swagger:Enabled", "false");
    }

    [Theory]
    [InlineData("/swagger/v1/swagger.json")]
    [InlineData("/swagger/index.html")]
    public async Task Neither_the_document_nor_the_ui_is_served(string path)
    {
        await (await app.CreateClient().GetAsync(path)).ExpectAsync(404, 2001);
        // The API itself still answers.
        await (await (await app.AdminAsync()).GetAsync("/api/auth/me")).ExpectAsync(200, 0);
    }
}
