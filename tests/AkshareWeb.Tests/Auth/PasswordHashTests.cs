using System.Buffers.Binary;
using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Tests.Auth;

/// <summary>The suite hashes with fewer rounds (see <see cref="AkshareWebApp"/>); what an installation gets is checked here.</summary>
public sealed class PasswordHashTests(PasswordHashTests.DefaultHashApp app) : IClassFixture<PasswordHashTests.DefaultHashApp>
{
    public sealed class DefaultHashApp : AkshareWebApp
    {
        public DefaultHashApp() => Unset("Auth:PasswordHashIterations");
    }

    [Fact]
    public async Task A_stored_password_is_PBKDF2_SHA512_with_100000_iterations_and_a_user_hashed_with_fewer_still_signs_in()
    {
        var (_, username, _) = await app.NewUserAsync();
        string stored;
        await using (var db = await app.OpenDatabaseAsync())
        {
            stored = await db.ExecuteScalarAsync<string>("SELECT password_hash FROM users WHERE username = @username", new { username }) ?? "";
            // A hash written by an installation that used fewer rounds (a test machine's settings) keeps its own count.
            var fewer = new Microsoft.AspNetCore.Identity.PasswordHasher<object>(Options.Create(new Microsoft.AspNetCore.Identity.PasswordHasherOptions { IterationCount = 1_000 }));
            await db.ExecuteAsync("UPDATE users SET password_hash = @hash WHERE username = @username", new { hash = fewer.HashPassword(new object(), "password-123"), username });
        }

        // The framework's version 3 layout: a marker byte, the PRF, the iteration count, the salt's length, all big-endian.
        var bytes = Convert.FromBase64String(stored);
        Assert.Equal(0x01, bytes[0]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1)));  // HMACSHA512
        Assert.Equal(100_000u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5)));

        var login = await app.CreateClient().PostAsJsonAsync("/api/auth/login", new { username, password = "password-123" });
        await login.ExpectAsync(200, 0);
    }

    [Fact]
    public async Task Outside_the_Testing_environment_fewer_than_100000_iterations_stop_the_start()
    {
        IAsyncLifetime weak = new WeakHashApp();
        await weak.InitializeAsync();
        try
        {
            var error = Assert.ThrowsAny<Exception>(() => ((WeakHashApp)weak).CreateClient());
            Assert.Contains("Auth:PasswordHashIterations must be at least 100,000", Flatten(error), StringComparison.Ordinal);
        }
        finally
        {
            await weak.DisposeAsync();
        }
    }

    private sealed class WeakHashApp : AkshareWebApp
    {
        public WeakHashApp() => Set("Auth:PasswordHashIterations", "50000");

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseEnvironment("Production");
        }
    }

    private static string Flatten(Exception e) => e is AggregateException all
        ? string.Join(" | ", all.InnerExceptions.Select(Flatten))
        : e.Message + (e.InnerException is { } inner ? " | " + Flatten(inner) : "");
}
