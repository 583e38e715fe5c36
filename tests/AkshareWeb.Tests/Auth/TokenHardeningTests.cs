using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Auth;

/// <summary>Tokens signed with the service's own key but not as the service signs them are refused.</summary>
public sealed class TokenHardeningTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    private const string Key = "test-signing-key-of-at-least-32-bytes-long!";

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static JsonObject Payload(string token)
    {
        var part = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        part = part.PadRight(part.Length + ((4 - (part.Length % 4)) % 4), '=');
        return JsonNode.Parse(Convert.FromBase64String(part))!.AsObject();
    }

    private static string Forge(JsonObject payload, string alg)
    {
        var head = B64(Encoding.UTF8.GetBytes(new JsonObject { ["alg"] = alg, ["typ"] = "JWT" }.ToJsonString()));
        var body = B64(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var input = Encoding.ASCII.GetBytes(head + "." + body);
        var key = Encoding.UTF8.GetBytes(Key);
        var signature = alg switch
        {
            "HS256" => B64(HMACSHA256.HashData(key, input)),
            "HS384" => B64(HMACSHA384.HashData(key, input)),
            "HS512" => B64(HMACSHA512.HashData(key, input)),
            _ => "",
        };
        return head + "." + body + "." + signature;
    }

    private async Task<int> MeStatusAsync(string token)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await client.GetAsync("/api/auth/me");
        if ((int)response.StatusCode == 401) await response.ExpectAsync(401, 1001);
        return (int)response.StatusCode;
    }

    [Fact]
    public async Task Only_hs256_tokens_with_an_expiry_are_accepted()
    {
        var (_, _, tokens) = await app.NewUserAsync();
        var claims = Payload(tokens.AccessToken);

        // The control: the same claims re-signed as the service signs them work, so the forging itself is right.
        Assert.Equal(200, await MeStatusAsync(Forge(claims.DeepClone().AsObject(), "HS256")));

        Assert.Equal(401, await MeStatusAsync(Forge(claims.DeepClone().AsObject(), "HS384")));
        Assert.Equal(401, await MeStatusAsync(Forge(claims.DeepClone().AsObject(), "HS512")));
        Assert.Equal(401, await MeStatusAsync(Forge(claims.DeepClone().AsObject(), "none")));

        var forever = claims.DeepClone().AsObject();
        forever.Remove("exp");
        Assert.Equal(401, await MeStatusAsync(Forge(forever, "HS256")));
    }
}

/// <summary>A refresh session ends Jwt:SessionMaxDays after its login, however often it was refreshed.</summary>
public sealed class SessionLifetimeTests(FakeClockApp app) : IClassFixture<FakeClockApp>
{
    private async Task<(int Status, JsonNode Body)> RefreshAsync(string refreshToken)
    {
        var response = await app.CreateClient().PostAsJsonAsync("/api/auth/refresh", new { refresh_token = refreshToken });
        return ((int)response.StatusCode, await response.ReadEnvelopeAsync());
    }

    [Fact]
    public async Task Refreshing_keeps_a_session_alive_only_up_to_its_absolute_lifetime()
    {
        var (_, _, tokens) = await app.NewUserAsync();
        var refresh = tokens.RefreshToken;
        // Every 13 days (inside the 14-day sliding window) for 26 days: fine.
        for (var i = 0; i < 2; i++)
        {
            app.Clock!.Advance(TimeSpan.FromDays(13));
            var (status, body) = await RefreshAsync(refresh);
            Assert.True(status == 200, body.ToJsonString());
            refresh = body["data"]!["refresh_token"]!.GetValue<string>();
        }

        // Day 30 has passed: the session has ended although the last refresh token is only 5 days old.
        app.Clock!.Advance(TimeSpan.FromDays(4) + TimeSpan.FromMinutes(1));
        var (ended, answer) = await RefreshAsync(refresh);
        Assert.Equal(401, ended);
        Assert.Equal(1002, answer["code"]!.GetValue<int>());
        Assert.Contains("maximum lifetime", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
