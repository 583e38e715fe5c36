using AkshareWeb.Features.Common;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// ASP.NET Data Protection with its keys in the application database, so every instance decrypts what another
/// encrypted (the warehouse password, the generated JWT signing key), and the keys themselves encrypted by what
/// <c>DataProtection:*</c> names (<see cref="KeyRingOptions"/>): a file or a key outside the database, or a certificate.
/// </summary>
public static class Secrets
{
    public static IServiceCollection AddAkshareWebDataProtection(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<KeyRingOptions>(configuration.GetSection(KeyRingOptions.Section));
        services.AddSingleton<KeyRingProtection>();
        services.AddSingleton<DatabaseXmlRepository>();
        var protection = services.AddDataProtection().SetApplicationName("AkshareWeb");
        if (KeyRingProtection.LoadCertificate(configuration.GetSection(KeyRingOptions.Section).Get<KeyRingOptions>() ?? new()) is { } certificate)
        {
            protection.ProtectKeysWithCertificate(certificate);
        }

        services.AddOptions<KeyManagementOptions>().Configure<DatabaseXmlRepository, KeyRingProtection>((options, repository, ring) =>
        {
            options.XmlRepository = repository;
            // A certificate, when also configured, encrypts new keys; the key still reads the ones it sealed.
            if (ring.Key is { } key && options.XmlEncryptor is null) options.XmlEncryptor = new KeyRingEncryptor(key);
        });
        return services;
    }

    /// <summary>Before anything reads a protected secret: encrypts keys stored before a protection was configured,
    /// refuses to start without the means to read an encrypted ring, and warns when the ring is not protected.</summary>
    public static Task PrepareKeyRingAsync(this WebApplication app, CancellationToken ct) =>
        app.Services.GetRequiredService<KeyRingProtection>().PrepareStoredKeysAsync(
            app.Services.GetRequiredService<DatabaseXmlRepository>(),
            app.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlEncryptor, ct);
}
