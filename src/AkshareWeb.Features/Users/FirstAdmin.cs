using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Users;

/// <summary>Configuration section <c>Admin</c>: the first administrator.</summary>
public sealed class AdminOptions
{
    public const string Section = "Admin";

    public string Username { get; set; } = "admin";
    public string Email { get; set; } = "admin@localhost.localdomain";
    /// <summary>Empty: a random password is generated and printed once in the start-up log.</summary>
    public string? Password { get; set; }
}

/// <summary>Creates the <c>admin</c> account on the first start, when the database has no administrator.</summary>
public sealed class FirstAdmin(UserAccounts accounts, Passwords passwords, IOptions<AdminOptions> options, ILogger<FirstAdmin> logger)
{
    public async Task EnsureAsync(CancellationToken ct)
    {
        if (await accounts.AnyAdminAsync(ct))
        {
            return;
        }

        var o = options.Value;
        var generated = string.IsNullOrEmpty(o.Password);
        var password = generated ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y') : o.Password!;
        // An instance starting at the same moment may have created it; only the one that did reports.
        if (!await accounts.CreateFirstAdminAsync(new NewAccount(o.Username, o.Email, passwords.Hash(password), Roles.Admin, IsActive: true), ct))
        {
            return;
        }

        if (generated)
        {
            logger.LogWarning(
                "Created the first administrator '{Username}' with the generated password {Password} . It is shown only this once: " +
                "log in and change it, or set AKSHAREWEB__Admin__Password before the first start.", o.Username, password);
        }
        else
        {
            logger.LogInformation("Created the first administrator '{Username}' with the configured password.", o.Username);
        }
    }
}
