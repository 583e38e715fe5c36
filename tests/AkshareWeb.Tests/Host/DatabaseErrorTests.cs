using System.Net.Http.Json;
using AkshareWeb.Tests.Infrastructure;
using Dapper;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// A database error the service did not foresee is a 500/5001 whose body says what happened in words and gives the
/// trace id; the server's error number and text stay in the log.
/// </summary>
public sealed class DatabaseErrorTests(AkshareWebApp app) : IClassFixture<AkshareWebApp>
{
    [Fact]
    public async Task A_database_error_answers_the_trace_id_and_not_the_servers_words()
    {
        var client = app.CreateClient(); // starts the app, which creates the schema
        await using (var db = await app.OpenDatabaseAsync())
        {
            // A column narrower than the rules allow (on this fixture's own database): inserting a valid e-mail fails
            // in MySQL with error 1406, as a real gap between a rule and a column would.
            await db.ExecuteAsync("ALTER TABLE users MODIFY email VARCHAR(30) NOT NULL");
        }

        var response = await client.PostAsJsonAsync("/api/auth/register", new
        {
            username = "dberror", email = "someone-with-a-long-address@example.com", password = "password-123", password_confirm = "password-123",
        });
        var body = await response.ExpectAsync(500, 5001);
        var text = body.ToJsonString();
        Assert.DoesNotContain("MySQL", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("1406", text, StringComparison.Ordinal);
        Assert.DoesNotContain("email", text, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(body["detail"]!["trace_id"]!.GetValue<string>()));
    }
}
