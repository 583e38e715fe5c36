using System.Text;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// Requests the framework cannot bind: the answer is a sentence the client understands, the field and the trace
/// id, never the framework's wording or a .NET type name.
/// </summary>
public sealed class UnreadableRequestTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private static StringContent Json(string body, string contentType = "application/json")
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    [Theory]
    [InlineData("application/json; charset=bogus")]
    [InlineData("application/json; charset=utf8")]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/json; charset=\"utf-16\"")]
    public async Task A_body_in_another_charset_than_utf8_is_415_in_the_envelope(string contentType)
    {
        var body = await (await app.CreateClient().PostAsync("/api/auth/login", Json("""{"username":"admin","password":"x"}""", contentType)))
            .ExpectAsync(415, 3002);
        Assert.Contains("UTF-8", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json")]
    public async Task A_utf8_body_is_read(string contentType)
    {
        await (await app.CreateClient().PostAsync("/api/auth/login", Json($$"""{"username":"admin","password":"{{AkshareWebApp.AdminPassword}}"}""", contentType)))
            .ExpectAsync(200, 0);
    }

    [Fact]
    public async Task A_field_of_the_wrong_type_is_named_without_the_command_type()
    {
        var response = await app.CreateClient().PostAsync("/api/auth/register", Json("""{"username":12345,"password":"x"}"""));
        var body = await response.ExpectAsync(400, 3002);
        Assert.Equal("username", body["detail"]!["field"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["detail"]!["trace_id"]!.GetValue<string>()));
        Assert.Contains("username", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        AssertNoInternals(body);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    public async Task A_missing_body_says_a_json_object_is_needed(string text)
    {
        var body = await (await app.CreateClient().PostAsync("/api/auth/login", Json(text))).ExpectAsync(400, 3002);
        Assert.Equal("this request needs a JSON object as its body", body["message"]!.GetValue<string>());
        AssertNoInternals(body);
    }

    [Fact]
    public async Task A_body_that_is_not_json_says_where()
    {
        var body = await (await app.CreateClient().PostAsync("/api/auth/login", Json("""{"username" 1}"""))).ExpectAsync(400, 3002);
        Assert.StartsWith("the request body is not valid JSON (line 1, position", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        AssertNoInternals(body);
    }

    [Fact]
    public async Task A_query_value_that_is_not_a_number_names_the_parameter()
    {
        var admin = await app.AdminAsync();
        var body = await (await admin.GetAsync("/api/users?page=abc")).ExpectAsync(400, 3002);
        Assert.Equal("page must be a whole number", body["message"]!.GetValue<string>());
        Assert.Equal("page", body["detail"]!["field"]!.GetValue<string>());
        AssertNoInternals(body);
    }

    [Fact]
    public async Task Half_a_surrogate_pair_in_a_text_field_is_a_422_naming_it()
    {
        var body = await (await app.CreateClient().PostAsync("/api/auth/login", Json("""{"username":"a\ud800","password":"x"}""")))
            .ExpectAsync(422, 3001);
        Assert.Equal("username", body["detail"]![0]!["field"]!.GetValue<string>());
        AssertNoInternals(body);
    }

    private static void AssertNoInternals(JsonNode body)
    {
        var text = body.ToJsonString();
        foreach (var leak in new[] { "AkshareWeb.", "System.", "Command", "Implicit body", "Failed to bind", "Nullable", "Path: $", "LineNumber" })
        {
            Assert.DoesNotContain(leak, text, StringComparison.Ordinal);
        }
    }
}
