using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

public sealed class ErrorEnvelopeTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Theory]
    [InlineData("/api/no-such-thing")]
    [InlineData("/api/users/not-a-number")]
    [InlineData("/nothing")]
    public async Task Unknown_routes_are_404_2001(string path)
    {
        var admin = await app.AdminAsync();
        await (await admin.GetAsync(path)).ExpectAsync(404, 2001);
    }

    [Fact]
    public async Task A_wrong_method_is_405_in_the_envelope()
    {
        var admin = await app.AdminAsync();
        var body = await (await admin.DeleteAsync("/api/auth/me")).ExpectAsync(405, -1);
        Assert.Contains("DELETE", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_rejected_in_the_envelope()
    {
        var response = await app.CreateClient().PostAsync("/api/auth/login", new StringContent("username=x", System.Text.Encoding.UTF8, "text/plain"));
        var body = await response.ReadEnvelopeAsync();
        Assert.True((int)response.StatusCode is 400 or 415, $"got {(int)response.StatusCode}");
        Assert.Equal(3002, body["code"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/api/users")]
    [InlineData("/api/users/")]
    public async Task Lists_answer_with_and_without_the_trailing_slash(string path)
    {
        var admin = await app.AdminAsync();
        await (await admin.GetAsync(path)).ExpectAsync(200, 0);
    }

    [Fact]
    public async Task Health_endpoints_answer()
    {
        var client = app.CreateClient();
        Assert.Equal(200, (int)(await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(200, (int)(await client.GetAsync("/health/ready")).StatusCode);
    }
}
