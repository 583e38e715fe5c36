using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using MySqlConnector;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>
/// The real application, in process, on a database of its own. Settings can be overridden per fixture
/// (rate limits, clocks, ...). The admin password is known so tests can act as the admin.
/// </summary>
public class AkshareWebApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string AdminPassword = "Admin-Pass-1234";

    private readonly Dictionary<string, string?> settings = new()
    {
        ["Admin:Password"] = AdminPassword,
        ["Jwt:SigningKey"] = "test-signing-key-of-at-least-32-bytes-long!",
        // Real PBKDF2 hashes, with fewer rounds: the suite signs in thousands of users (the default is checked in
        // PasswordHashTests).
        ["Auth:PasswordHashIterations"] = "1000",
        // High by default; the rate-limit tests use their own fixture with low limits.
        ["RateLimits:UserPerWindow"] = "100000",
        ["RateLimits:AdminPerWindow"] = "100000",
        ["RateLimits:AnonymousPerWindow"] = "100000",
        ["RateLimits:AuthAttemptsPerAddress"] = "100000",
        ["RateLimits:HealthPerWindow"] = "100000",
        ["RateLimits:LoginFailuresPerAccountAndAddress"] = "100000",
        ["RateLimits:LoginAccountBrakeAfter"] = "100000",
        // No quotas unless a test asks for them (Quota tests use the documented defaults).
        ["Quotas:UserMaxRunningJobs"] = "100000",
        ["Quotas:UserMaxTasks"] = "100000",
        ["Quotas:UserMinScheduleMinutes"] = "0",
        ["Quotas:UserMaxTaskRuns"] = "100000",
        ["Quotas:UserMaxSlotsPercent"] = "100",
        ["Quotas:UserMaxPartsWaiting"] = "10000000",
        // The weekly calendar task would be one task more in every admin's list; its own tests turn it on.
        ["Calendar:WeeklyTask"] = "false",
    };

    public string ConnectionString { get; private set; } = "";

    /// <summary>What the app logs at Warning and above.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>Replaces the system clock when set before the app starts.</summary>
    public FakeTimeProvider? Clock { get; protected set; }

    protected void Set(string key, string? value) => settings[key] = value;

    /// <summary>Leaves a setting to the app's own default.</summary>
    protected void Unset(string key) => settings.Remove(key);

    private bool ownsDatabase = true;

    public virtual async Task InitializeAsync()
    {
        if (ConnectionString.Length == 0)
        {
            ConnectionString = StartsOnStartedDatabase ? await TestDatabase.CreateStartedAsync() : await TestDatabase.CreateAsync();
        }

        settings["ConnectionStrings:AkshareWeb"] = ServiceConnectionString(ConnectionString);
    }

    /// <summary>Settings that change what a first start writes into the database (the catalogue's source, the data
    /// scripts, Hangfire's table names).</summary>
    private static readonly string[] FirstStartSettings = ["Catalog:", "DataScripts:", "Hangfire:TablesPrefix"];

    /// <summary>
    /// Whether this fixture's database is a copy of one the service has started on once with the default settings
    /// (<see cref="StartedDatabase"/>), which spares each fixture the migrations, the catalogue import and the scripts'
    /// registration. Not for a fixture that sets what a first start writes, nor on a fake clock (the catalogue's
    /// times would be the template's): those start on an empty database, as tests of the first start itself must.
    /// AKSHAREWEB_TEST_EMPTY_DATABASES=1 starts every fixture on an empty database (to tell whether a test depends on
    /// the copy, and to compare the costs).
    /// </summary>
    protected virtual bool StartsOnStartedDatabase =>
        Environment.GetEnvironmentVariable("AKSHAREWEB_TEST_EMPTY_DATABASES") != "1" && Clock is null && !settings.Keys.Any(key => FirstStartSettings.Any(prefix => key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)));

    /// <summary>Starts the service once on <paramref name="connectionString"/> with the default settings, and stops it.</summary>
    internal static async Task StartOnceAsync(string connectionString)
    {
        await using var app = new AkshareWebApp();
        app.UseDatabase(connectionString);
        await app.InitializeAsync();
        _ = app.Server;
    }

    /// <summary>The connection string the service is given; a fixture may route it elsewhere (through a proxy).</summary>
    protected virtual string ServiceConnectionString(string connectionString) => connectionString;

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (ownsDatabase && ConnectionString.Length > 0) await TestDatabase.DropAsync(ConnectionString);
    }

    /// <summary>Runs on an existing database that this fixture neither creates nor drops.</summary>
    protected void UseDatabase(string connectionString)
    {
        ConnectionString = connectionString;
        ownsDatabase = false;
    }

    /// <summary>Another instance of the service on the same database, as a second server would be.</summary>
    public async Task<AkshareWebApp> SecondInstanceAsync()
    {
        var other = new AkshareWebApp { ConnectionString = ConnectionString, ownsDatabase = false };
        foreach (var (key, value) in settings) other.settings[key] = value;
        await other.InitializeAsync();
        return other;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        builder.UseEnvironment("Testing");
        // The app's own information logs would drown the test output (CI shows only its tail, where a failure
        // must be visible); warnings and errors still show. appsettings.json names levels per category, so
        // those are lowered too: a minimum level alone does not override them.
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Hangfire", "Warning");
        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddProvider(Logs));
        builder.ConfigureServices(services =>
        {
            if (Clock is not null)
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton<TimeProvider>(Clock);
            }
        });
    }

    public async Task<MySqlConnection> OpenDatabaseAsync()
    {
        var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>
    /// Starts the app on Kestrel (the fixture called UseKestrel) and answers its loopback address: what a program
    /// outside the process, or a raw socket, reaches. CreateClient's clients then go there too.
    /// </summary>
    public Uri StartOnLoopback()
    {
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>A client signed in as the seeded admin.</summary>
    public async Task<HttpClient> AdminAsync() => await SignedInAsync("admin", AdminPassword);

    public async Task<HttpClient> SignedInAsync(string username, string password)
    {
        var client = CreateClient();
        var tokens = await client.LoginAsync(username, password);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return client;
    }

    /// <summary>Registers a fresh user and returns a client signed in as them.</summary>
    public async Task<(HttpClient Client, string Username, Tokens Tokens)> NewUserAsync(string? username = null)
    {
        username ??= "u" + Guid.NewGuid().ToString("N")[..12];
        var client = CreateClient();
        var response = await client.PostAsJsonAsync("/api/auth/register", new
        {
            username,
            email = username + "@example.com",
            password = "password-123",
            password_confirm = "password-123",
        });
        var body = await response.ReadEnvelopeAsync();
        if ((int)response.StatusCode != 201) throw new InvalidOperationException("register failed: " + body);
        var tokens = Tokens.From(body);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return (client, username, tokens);
    }
}

public sealed record Tokens(string AccessToken, string RefreshToken)
{
    public static Tokens From(JsonNode envelope) =>
        new(envelope["data"]!["access_token"]!.GetValue<string>(), envelope["data"]!["refresh_token"]!.GetValue<string>());
}

public static class HttpTestExtensions
{
    public static async Task<JsonNode> ReadEnvelopeAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonNode.Parse(text) ?? throw new InvalidOperationException("empty body");
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"not JSON ({(int)response.StatusCode}): {text}");
        }
    }

    public static async Task<Tokens> LoginAsync(this HttpClient client, string username, string password)
    {
        var response = await client.PostAsJsonAsync("/api/auth/login", new { username, password });
        var body = await response.ReadEnvelopeAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException("login failed: " + body);
        return Tokens.From(body);
    }

    public static HttpClient WithToken(this HttpClient client, string accessToken)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
    }

    /// <summary>Asserts the status and the envelope's code, and returns the body.</summary>
    public static async Task<JsonNode> ExpectAsync(this HttpResponseMessage response, int status, int code)
    {
        var body = await response.ReadEnvelopeAsync();
        Assert.True((int)response.StatusCode == status, $"expected HTTP {status}, got {(int)response.StatusCode}: {body.ToJsonString()}");
        Assert.Equal(code, body["code"]!.GetValue<int>());
        return body;
    }
}
