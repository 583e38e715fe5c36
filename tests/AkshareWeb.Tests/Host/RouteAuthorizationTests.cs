using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// Walks every operation of the served OpenAPI document as anonymous, user and admin, and checks the answer
/// against the roles API.md gives each area: so a new endpoint cannot ship without its authorisation.
/// </summary>
public sealed partial class RouteAuthorizationTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    // A sign-in page asks the registration mode before anyone has a token.
    private static readonly HashSet<string> Anonymous = ["POST /api/auth/register", "POST /api/auth/login", "POST /api/auth/refresh", "GET /api/auth/registration"];

    // API.md marks /api/users and /api/settings as 管理员; scanning scripts, toggling them and syncing the
    // interface registry change what everyone sees, so they are for admins too; so is the dashboard cookie.
    private static bool AdminOnly(string method, string path) =>
        path.StartsWith("/api/users", StringComparison.Ordinal)
        || path.StartsWith("/api/settings", StringComparison.Ordinal)
        || (method == "POST" && path == "/api/interfaces/sync")
        || (method == "POST" && path == "/api/auth/dashboard-session")
        || (method == "POST" && path == "/api/scripts/scan")
        || (method == "PATCH" && AnyId().Replace(path, "{}") == "/api/scripts/{}/toggle");

    [Fact]
    public async Task Every_route_answers_each_role_as_the_contract_says()
    {
        var document = JsonNode.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json"))!;
        var operations = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Method: o.Key.ToUpperInvariant(), Path: p.Key)))
            .OrderBy(o => o.Path == "/api/auth/logout") // logout last: it ends the session of the walker
            .ToList();
        Assert.True(operations.Count >= 10, $"only {operations.Count} operations in the document");

        var anonymous = app.CreateClient();
        var user = (await app.NewUserAsync()).Client;
        var admin = await app.AdminAsync();
        var failures = new List<string>();

        foreach (var (method, path) in operations)
        {
            var url = AnyId().Replace(path, "1");
            var key = $"{method} {path}";

            var asAnonymous = await SendAsync(anonymous, method, url);
            if (Anonymous.Contains(key) ? asAnonymous is 401 or 403 : asAnonymous != 401)
                failures.Add($"{key} as anonymous: {asAnonymous}");

            var asUser = await SendAsync(user, method, url);
            if (AdminOnly(method, path) ? asUser != 403 : asUser is 401 or 403 or >= 500)
                failures.Add($"{key} as user: {asUser}");

            var asAdmin = await SendAsync(admin, method, url);
            if (asAdmin is 401 or 403 or >= 500)
                failures.Add($"{key} as admin: {asAdmin}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static async Task<int> SendAsync(HttpClient client, string method, string url)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = JsonContent.Create(new { });
        }

        using var response = await client.SendAsync(request);
        return (int)response.StatusCode;
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex AnyId();
}
