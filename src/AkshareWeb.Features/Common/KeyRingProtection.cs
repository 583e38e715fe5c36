using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Configuration section <c>DataProtection</c>: what encrypts the data-protection key ring, which is kept in the
/// application database (<see cref="DatabaseXmlRepository"/>) and itself encrypts the warehouse password and the
/// generated JWT signing key. Without any of these the ring is stored as it is, and a backup of the database is
/// enough to read those secrets.
/// </summary>
public sealed class KeyRingOptions
{
    public const string Section = "DataProtection";

    /// <summary>A file holding 32 random bytes as base64 (<c>openssl rand -base64 32</c>), outside the database.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The same key given directly (an environment variable or a secret store), as base64.</summary>
    public string? Key { get; set; }

    /// <summary>An X.509 certificate with its private key (PKCS#12, .pfx) whose public key encrypts the ring.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }
}

/// <summary>
/// What protects the key ring on this instance, read from <see cref="KeyRingOptions"/> once, and the start-up step
/// that brings the stored ring in line with it: keys written before a protection was configured are encrypted in
/// place, and a ring that is encrypted cannot be used by an instance that has no way to decrypt it.
/// </summary>
public sealed class KeyRingProtection(IOptions<KeyRingOptions> options, ILogger<KeyRingProtection> logger)
{
    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";
    private static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";

    private readonly Lazy<byte[]?> key = new(() => ReadKey(options.Value));

    /// <summary>The AES key of <c>DataProtection:KeyFile</c> or <c>DataProtection:Key</c>; null when neither is set.</summary>
    public byte[]? Key => key.Value;

    /// <summary>Run once at start, before anything reads a protected secret; <paramref name="encryptor"/> is what Data
    /// Protection encrypts new keys with (null: nothing is configured).</summary>
    public async Task PrepareStoredKeysAsync(DatabaseXmlRepository repository, IXmlEncryptor? encryptor, CancellationToken ct)
    {
        var stored = await repository.ReadStoredAsync(ct);
        if (encryptor is null)
        {
            if (stored.Any(s => XElement.Parse(s.Xml).Descendants(EncryptedSecret).Any()))
            {
                throw new InvalidOperationException(
                    "The data-protection key ring in the database is encrypted, and this instance has no DataProtection:KeyFile, " +
                    "DataProtection:Key or DataProtection:CertificatePath to decrypt it: give it the same setting as the other instances.");
            }

            logger.LogWarning(
                "The data-protection key ring is stored unencrypted in the application database, next to the warehouse password and " +
                "the JWT signing key it protects: a backup of the database is enough to read them. Set DataProtection:KeyFile " +
                "(a file with `openssl rand -base64 32`, outside the database and its backups), DataProtection:Key or " +
                "DataProtection:CertificatePath; README.md, \"Secrets\".");
            return;
        }

        var encrypted = 0;
        foreach (var (id, xml) in stored)
        {
            var key = XElement.Parse(xml);
            var secrets = key.Descendants().Where(e => (bool?)e.Attribute(RequiresEncryption) == true).ToList();
            if (secrets.Count == 0) continue;
            foreach (var secret in secrets)
            {
                // The shape Data Protection writes itself when an encryptor is configured, and reads back.
                var sealedSecret = encryptor.Encrypt(new XElement(secret));
                secret.ReplaceWith(new XElement(EncryptedSecret,
                    new XAttribute("decryptorType", sealedSecret.DecryptorType.AssemblyQualifiedName!),
                    sealedSecret.EncryptedElement));
            }

            if (await repository.ReplaceAsync(id, xml, key, ct)) encrypted++;
        }

        if (encrypted > 0)
        {
            logger.LogInformation("Encrypted {Count} data-protection key(s) that were stored unencrypted before DataProtection was configured.", encrypted);
        }
    }

    /// <summary>The certificate of <c>DataProtection:CertificatePath</c>, with the private key that reads the ring back.</summary>
    public static X509Certificate2? LoadCertificate(KeyRingOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.CertificatePath)) return null;
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.CertificatePassword);
        return certificate.HasPrivateKey ? certificate
            : throw new InvalidOperationException($"DataProtection:CertificatePath ({options.CertificatePath}) holds no private key: the key ring could not be read back.");
    }

    private static byte[]? ReadKey(KeyRingOptions options)
    {
        var text = !string.IsNullOrWhiteSpace(options.KeyFile) ? File.ReadAllText(options.KeyFile) : options.Key;
        if (string.IsNullOrWhiteSpace(text)) return null;
        var source = string.IsNullOrWhiteSpace(options.KeyFile) ? "DataProtection:Key" : $"DataProtection:KeyFile ({options.KeyFile})";
        try
        {
            var key = Convert.FromBase64String(text.Trim());
            if (key.Length == 32) return key;
        }
        catch (FormatException)
        {
        }

        throw new InvalidOperationException($"{source} must hold 32 random bytes as base64, e.g. the output of `openssl rand -base64 32`.");
    }
}

/// <summary>
/// Encrypts a key of the ring with AES-256-GCM under the configured key: <c>&lt;sealedKey keyId="…"&gt;base64(nonce,
/// tag, ciphertext)&lt;/sealedKey&gt;</c>. <c>keyId</c> names the key (the first bytes of its SHA-256), so a ring
/// sealed under another key is reported as such, not as corrupt data.
/// </summary>
public sealed class KeyRingEncryptor(byte[] key) : IXmlEncryptor
{
    internal static readonly byte[] Context = "AkshareWeb key ring v1"u8.ToArray();

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plain = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[12 + 16 + plain.Length];
        var nonce = sealedBytes.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key, 16))
        {
            aes.Encrypt(nonce, plain, sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), Context);
        }

        var element = new XElement("sealedKey",
            new XAttribute("keyId", KeyId(key)),
            new XComment(" AES-256-GCM under DataProtection:KeyFile / DataProtection:Key "),
            Convert.ToBase64String(sealedBytes));
        return new EncryptedXmlInfo(element, typeof(KeyRingDecryptor));
    }

    internal static string KeyId(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 8));
}

/// <summary>Reads what <see cref="KeyRingEncryptor"/> sealed; Data Protection creates it by its type name.</summary>
public sealed class KeyRingDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var key = services.GetRequiredService<KeyRingProtection>().Key
            ?? throw new InvalidOperationException("The data-protection key ring is sealed with a DataProtection key, and none is configured here.");
        if ((string?)encryptedElement.Attribute("keyId") != KeyRingEncryptor.KeyId(key))
        {
            throw new InvalidOperationException("The data-protection key ring was sealed with another DataProtection key than the one configured here.");
        }

        var sealedBytes = Convert.FromBase64String(encryptedElement.Nodes().OfType<XText>().Select(t => t.Value).Aggregate("", string.Concat).Trim());
        var plain = new byte[sealedBytes.Length - 28];
        using (var aes = new AesGcm(key, 16))
        {
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), plain, KeyRingEncryptor.Context);
        }

        return XElement.Parse(Encoding.UTF8.GetString(plain));
    }
}
