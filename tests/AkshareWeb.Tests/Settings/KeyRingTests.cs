using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using AkshareWeb.Features.Settings;
using AkshareWeb.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;

namespace AkshareWeb.Tests.Settings;

/// <summary>An instance on a database the test owns, with the DataProtection and Jwt settings it is given.</summary>
public sealed class KeyRingApp : AkshareWebApp
{
    public KeyRingApp(string connectionString, IReadOnlyDictionary<string, string>? settings = null, bool generatedJwtKey = true)
    {
        UseDatabase(connectionString);
        if (generatedJwtKey) Unset("Jwt:SigningKey");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) Set(key, value);
    }

    public static async Task<KeyRingApp> StartAsync(string connectionString, IReadOnlyDictionary<string, string>? settings = null, bool generatedJwtKey = true)
    {
        var app = new KeyRingApp(connectionString, settings, generatedJwtKey);
        await app.InitializeAsync();
        _ = app.Server;
        return app;
    }
}

/// <summary>
/// The data-protection key ring encrypts the warehouse password and the generated JWT signing key; kept in the
/// same database, it must itself be encrypted by something a backup of that database does not hold.
/// </summary>
public sealed class KeyRingTests
{
    private const string Unprotected = "stored unencrypted in the application database";

    private static async Task<List<string>> RingAsync(MySqlConnection db) =>
        (await db.QueryAsync<string>("SELECT xml FROM data_protection_keys")).AsList();

    private static async Task<Dictionary<string, byte[]>> SecretsAsync(MySqlConnection db) =>
        (await db.QueryAsync<(string Name, byte[] Value)>("SELECT name, value FROM app_secrets")).ToDictionary(r => r.Name, r => r.Value);

    private static string KeyFile()
    {
        var path = Path.Combine(Path.GetTempPath(), "akshareweb-keyring-" + Guid.NewGuid().ToString("N") + ".key");
        File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        return path;
    }

    /// <summary>HS256 over the token's first two parts with <paramref name="key"/> gives its third.</summary>
    private static bool SignedWith(string token, byte[] key)
    {
        var parts = token.Split('.');
        var signature = HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        return Convert.ToBase64String(signature).TrimEnd('=').Replace('+', '-').Replace('/', '_') == parts[2];
    }

    [Fact]
    public async Task An_existing_plain_ring_is_encrypted_in_place_with_a_key_file_and_every_secret_still_reads()
    {
        var connectionString = await TestDatabase.CreateAsync();
        var keyFile = KeyFile();
        try
        {
            await using var db = new MySqlConnection(connectionString);
            var server = new MySqlConnectionStringBuilder(connectionString);
            var jwtKey = RandomNumberGenerator.GetBytes(64);

            // A deployment as it was: nothing protects the ring (a warning says so), a warehouse password is stored,
            // and the JWT signing key lies in app_secrets in plain text, as older versions kept it.
            await using (var old = await KeyRingApp.StartAsync(connectionString))
            {
                Assert.Contains(old.Logs.Lines, l => l.Contains(Unprotected, StringComparison.Ordinal));
                await (await (await old.AdminAsync()).PutAsJsonAsync("/api/settings/database", new
                {
                    host = server.Server, port = server.Port, database = server.Database, username = server.UserID, password = server.Password,
                })).ExpectAsync(200, 0);
                Assert.All(await RingAsync(db), xml => Assert.Contains("masterKey", xml, StringComparison.Ordinal));
                await db.ExecuteAsync("DELETE FROM app_secrets; INSERT INTO app_secrets (name, value, created_at) VALUES ('jwt_signing_key', @jwtKey, NOW(6))", new { jwtKey });
            }

            await using (var sealedRing = await KeyRingApp.StartAsync(connectionString, new Dictionary<string, string> { ["DataProtection:KeyFile"] = keyFile }))
            {
                Assert.DoesNotContain(sealedRing.Logs.Lines, l => l.Contains(Unprotected, StringComparison.Ordinal));
                var ring = await RingAsync(db);
                Assert.NotEmpty(ring);
                Assert.All(ring, xml =>
                {
                    Assert.Contains("encryptedSecret", xml, StringComparison.Ordinal);
                    Assert.DoesNotContain("masterKey", xml, StringComparison.Ordinal);
                });

                // The JWT key: out of plain text, the same key (tokens signed before stay valid).
                var secrets = await SecretsAsync(db);
                Assert.Equal(["jwt_signing_key_protected"], secrets.Keys);
                Assert.Equal(-1, secrets["jwt_signing_key_protected"].AsSpan().IndexOf(jwtKey.AsSpan(0, 16)));
                var tokens = await sealedRing.CreateClient().LoginAsync("admin", AkshareWebApp.AdminPassword);
                Assert.True(SignedWith(tokens.AccessToken, jwtKey));

                // The warehouse password decrypts.
                var warehouse = sealedRing.Services.GetRequiredService<WarehouseConnection>();
                await warehouse.RefreshAsync(CancellationToken.None);
                Assert.Equal(server.Password, warehouse.CurrentPassword());
            }

            // An instance without the key cannot read the ring: it does not start, and says what it lacks.
            var keyless = new KeyRingApp(connectionString);
            await keyless.InitializeAsync();
            var failure = Assert.ThrowsAny<Exception>(() => keyless.Server);
            Assert.Contains("has no DataProtection:KeyFile", failure.ToString(), StringComparison.Ordinal);
            try
            {
                await keyless.DisposeAsync();
            }
            catch (InvalidOperationException)
            {
                // A host that never started has nothing to stop.
            }
        }
        finally
        {
            File.Delete(keyFile);
            await TestDatabase.DropAsync(connectionString);
        }
    }

    [Fact]
    public async Task A_certificate_encrypts_the_ring_and_another_instance_with_it_reads_the_signing_key()
    {
        var connectionString = await TestDatabase.CreateAsync();
        var path = Path.Combine(Path.GetTempPath(), "akshareweb-keyring-" + Guid.NewGuid().ToString("N") + ".pfx");
        try
        {
            using (var rsa = RSA.Create(2048))
            {
                var request = new CertificateRequest("CN=akshareweb key ring (test)", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
                await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pfx, "pfx-password"));
            }

            var settings = new Dictionary<string, string> { ["DataProtection:CertificatePath"] = path, ["DataProtection:CertificatePassword"] = "pfx-password" };
            await using var first = await KeyRingApp.StartAsync(connectionString, settings);
            var tokens = await first.CreateClient().LoginAsync("admin", AkshareWebApp.AdminPassword);

            await using var db = new MySqlConnection(connectionString);
            var ring = await RingAsync(db);
            Assert.NotEmpty(ring);
            Assert.All(ring, xml =>
            {
                Assert.Contains("encryptedSecret", xml, StringComparison.Ordinal);
                Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
                Assert.DoesNotContain("masterKey", xml, StringComparison.Ordinal);
            });

            await using var second = await KeyRingApp.StartAsync(connectionString, settings);
            var me = await second.CreateClient().WithToken(tokens.AccessToken).GetAsync("/api/auth/me");
            await me.ExpectAsync(200, 0);
        }
        finally
        {
            File.Delete(path);
            await TestDatabase.DropAsync(connectionString);
        }
    }

    [Fact]
    public async Task A_configured_signing_key_is_never_written_to_the_database_and_a_generated_one_goes()
    {
        var connectionString = await TestDatabase.CreateAsync();
        try
        {
            await using var db = new MySqlConnection(connectionString);
            await using (var generated = await KeyRingApp.StartAsync(connectionString))
            {
                Assert.Equal(["jwt_signing_key_protected"], (await SecretsAsync(db)).Keys);
            }

            await using var configured = await KeyRingApp.StartAsync(connectionString, generatedJwtKey: false);
            await configured.CreateClient().LoginAsync("admin", AkshareWebApp.AdminPassword);
            Assert.Empty(await SecretsAsync(db));
            Assert.Equal(0, await db.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM app_settings WHERE value LIKE '%test-signing-key%'"));
        }
        finally
        {
            await TestDatabase.DropAsync(connectionString);
        }
    }
}
