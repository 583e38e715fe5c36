using FluentValidation;

namespace AkshareWeb.Features.Settings;

/// <summary>The connection fields that PUT /database and POST /database/test both take.</summary>
public interface IDatabaseLocation
{
    string? Host { get; }
    int? Port { get; }
    string? Database { get; }
    string? Username { get; }
    string? Password { get; }
}

public static class DatabaseLocationRules
{
    public static void Apply<T>(AbstractValidator<T> validator)
        where T : IDatabaseLocation
    {
        validator.RuleFor(c => c.Host).NotEmpty().MaximumLength(255).Matches(@"^[A-Za-z0-9.\-:\[\]]+$").WithMessage("host must be a host name or an IP address");
        validator.RuleFor(c => c.Port).NotNull().InclusiveBetween(1, 65535);
        validator.RuleFor(c => c.Database).NotEmpty().MaximumLength(64).Matches("^[A-Za-z0-9_$]+$").WithMessage("database must be a plain schema name (letters, digits, _ and $)");
        // A NUL cannot travel in a connection string (MySqlConnector refuses it outright): no account's name or password holds one.
        validator.RuleFor(c => c.Username).NotEmpty().MaximumLength(80).Must(NoNul).WithMessage("username must not contain a NUL character (\\u0000)");
        // Stored encrypted in app_settings.value (TEXT); MySQL's own limit on a password is far below this.
        validator.RuleFor(c => c.Password).MaximumLength(256).Must(NoNul).WithMessage("password must not contain a NUL character (\\u0000)");
    }

    private static bool NoNul(string? text) => text is null || !text.Contains('\0', StringComparison.Ordinal);
}
