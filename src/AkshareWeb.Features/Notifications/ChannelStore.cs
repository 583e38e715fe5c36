using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Notifications;

/// <summary>The SMTP server and addresses of an email channel, as stored (the password apart, encrypted).</summary>
public sealed record SmtpServer(string Host, int Port, string Security, string? Username, string From, IReadOnlyList<string> To);

/// <summary>An email channel's server as the API shows it: never the password, only whether one is set.</summary>
public sealed record SmtpView(string Host, int Port, string Security, string? Username, string From, IReadOnlyList<string> To, bool PasswordSet);

/// <summary>
/// A channel as the API shows it. <c>url</c> has its token parts masked (robots' URLs are their credential); secrets
/// and passwords are never returned, only whether one is set.
/// </summary>
public sealed record ChannelView(
    long Id, long UserId, string Name, string Type, string Scope, IReadOnlyList<string> Events, string? Url, bool SecretSet,
    SmtpView? Smtp, bool IsActive, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>Where a channel's messages go, decrypted, for the sender only.</summary>
public sealed record ChannelTarget(long Id, string Type, bool IsActive, Uri? Url, string? Secret, SmtpServer? Smtp, string? SmtpPassword);

/// <summary>
/// The <c>notification_channels</c> table: the only SQL on it. URLs, secrets and SMTP passwords are encrypted with
/// Data Protection (keys in the application database, as for the warehouse password), so any instance can send
/// what another stored.
/// </summary>
public sealed class ChannelStore(Database database, IDataProtectionProvider protection, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly IDataProtector protector = protection.CreateProtector("AkshareWeb.NotificationChannels");

    /// <summary>A channel row as Dapper reads it; JSON columns arrive as text.</summary>
    public sealed record Row(
        long Id, long UserId, string Name, string Type, string Scope, string Events, string? UrlProtected, string? UrlShown,
        string? SecretProtected, string? Smtp, string? SmtpPasswordProtected, bool IsActive, DateTime CreatedAt, DateTime UpdatedAt)
    {
        public SmtpServer? SmtpServer => Smtp is null ? null : JsonSerializer.Deserialize<SmtpServer>(Smtp, Json);

        public ChannelView ToView() => new(Id, UserId, Name, Type, Scope, JsonSerializer.Deserialize<List<string>>(Events, Json) ?? [],
            UrlShown, SecretProtected is not null,
            SmtpServer is { } s ? new SmtpView(s.Host, s.Port, s.Security, s.Username, s.From, s.To, SmtpPasswordProtected is not null) : null,
            IsActive, CreatedAt, UpdatedAt);
    }

    /// <summary>What a create or an update stores; null secrets are absent (see <see cref="SaveAsync"/>).</summary>
    public sealed record ChannelValues(
        string Name, string Type, string Scope, IReadOnlyList<string> Events, Uri? Url, string? Secret, SmtpServer? Smtp, string? SmtpPassword, bool IsActive);

    private const string Columns = """
        id, user_id AS UserId, name, type, scope, CAST(events AS CHAR) AS Events, url_protected AS UrlProtected, url_shown AS UrlShown,
        secret_protected AS SecretProtected, CAST(smtp AS CHAR) AS Smtp, smtp_password_protected AS SmtpPasswordProtected,
        is_active AS IsActive, created_at AS CreatedAt, updated_at AS UpdatedAt
        """;

    /// <summary>The channel when <paramref name="caller"/> may see it (its owner, or an admin); 404 otherwise, as for
    /// a channel that does not exist.</summary>
    public async Task<Row> VisibleAsync(long id, Caller caller, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM notification_channels WHERE id = @id", new { id }, cancellationToken: ct));
        return row is not null && caller.MayActOn(row.UserId) ? row : throw ApiError.NotFound("channel");
    }

    public async Task<(IReadOnlyList<Row> Rows, long Total)> ListAsync(Caller caller, PageRequest page, CancellationToken ct)
    {
        var where = caller.IsAdmin ? "" : "WHERE user_id = @callerId";
        var args = new { callerId = caller.Id, limit = page.PageSize, offset = page.Offset };
        await using var connection = await database.OpenAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM notification_channels {where}", args, cancellationToken: ct));
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM notification_channels {where} ORDER BY id LIMIT @limit OFFSET @offset", args, cancellationToken: ct));
        return (rows.AsList(), total);
    }

    /// <summary>
    /// Inserts (no <paramref name="id"/>) or updates a channel. On an update a null URL, secret or password keeps the
    /// stored one and an empty secret or password removes it.
    /// </summary>
    public async Task<Row> SaveAsync(long? id, long userId, ChannelValues values, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var args = new
        {
            id,
            userId,
            values.Name,
            values.Type,
            values.Scope,
            events = JsonSerializer.Serialize(values.Events, Json),
            urlProtected = values.Url is null ? null : protector.Protect(values.Url.AbsoluteUri),
            urlShown = values.Url is null ? null : ChannelUrls.Shown(values.Url),
            secretGiven = values.Secret is not null,
            secretProtected = string.IsNullOrEmpty(values.Secret) ? null : protector.Protect(values.Secret),
            smtp = values.Smtp is null ? null : JsonSerializer.Serialize(values.Smtp, Json),
            passwordGiven = values.SmtpPassword is not null,
            passwordProtected = string.IsNullOrEmpty(values.SmtpPassword) ? null : protector.Protect(values.SmtpPassword),
            values.IsActive,
            now,
        };
        await using var connection = await database.OpenAsync(ct);
        if (id is null)
        {
            var newId = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                INSERT INTO notification_channels (user_id, name, type, scope, events, url_protected, url_shown, secret_protected, smtp,
                  smtp_password_protected, is_active, created_at, updated_at)
                VALUES (@userId, @Name, @Type, @Scope, @events, @urlProtected, @urlShown, @secretProtected, @smtp, @passwordProtected, @IsActive, @now, @now);
                SELECT LAST_INSERT_ID();
                """, args, cancellationToken: ct));
            return await RowAsync(connection, newId, ct);
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE notification_channels SET name = @Name, scope = @Scope, events = @events,
              url_protected = COALESCE(@urlProtected, url_protected), url_shown = COALESCE(@urlShown, url_shown),
              secret_protected = IF(@secretGiven, @secretProtected, secret_protected), smtp = @smtp,
              smtp_password_protected = IF(@passwordGiven, @passwordProtected, smtp_password_protected),
              is_active = @IsActive, updated_at = @now
            WHERE id = @id
            """, args, cancellationToken: ct));
        return await RowAsync(connection, id.Value, ct);
    }

    public async Task DeleteAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM notification_channels WHERE id = @id", new { id }, cancellationToken: ct));
    }

    /// <summary>Where to send, decrypted; null for a channel deleted meanwhile.</summary>
    public async Task<ChannelTarget?> TargetAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM notification_channels WHERE id = @id", new { id }, cancellationToken: ct));
        return row is null ? null : Target(row);
    }

    public ChannelTarget Target(Row row) => new(row.Id, row.Type, row.IsActive,
        row.UrlProtected is null ? null : new Uri(protector.Unprotect(row.UrlProtected)),
        row.SecretProtected is null ? null : protector.Unprotect(row.SecretProtected),
        row.SmtpServer, row.SmtpPasswordProtected is null ? null : protector.Unprotect(row.SmtpPasswordProtected));

    private static async Task<Row> RowAsync(MySqlConnection connection, long id, CancellationToken ct) =>
        await connection.QuerySingleAsync<Row>(new CommandDefinition($"SELECT {Columns} FROM notification_channels WHERE id = @id", new { id }, cancellationToken: ct));
}

/// <summary>How a channel's URL is shown back: a robot's URL carries its token, so only its shape is.</summary>
public static class ChannelUrls
{
    /// <summary>
    /// Scheme, host, port and path, with every query value masked, or without a query the last path segment (where
    /// Feishu and Slack put the token): <c>https://oapi.dingtalk.com/robot/send?access_token=***</c>,
    /// <c>https://open.feishu.cn/open-apis/bot/v2/hook/***</c>.
    /// </summary>
    public static string Shown(Uri url)
    {
        var segments = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length > 1 && url.Query.Length <= 1) segments[^1] = "***";
        var path = "/" + string.Join('/', segments);
        var query = url.Query.Length <= 1 ? "" : "?" + string.Join('&', url.Query[1..].Split('&')
            .Select(pair => pair.Split('=', 2)[0] + "=***"));
        return $"{url.Scheme}://{url.Authority}{path}{query}";
    }
}
