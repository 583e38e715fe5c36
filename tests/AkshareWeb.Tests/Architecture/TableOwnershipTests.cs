using System.Text.RegularExpressions;

namespace AkshareWeb.Tests.Architecture;

/// <summary>
/// One owner per table: a table of the application schema is named in SQL only by code of the area that owns it,
/// and everyone else asks that area's store. Reading another area's table by SQL keeps the dependency on that area
/// and hides it from the area rules (<see cref="AreaDependencyTests"/>). The few exceptions are listed below, each
/// with the reason it is worth the exception.
/// </summary>
public sealed partial class TableOwnershipTests
{
    /// <summary>Every table of Migrations/*.sql and the area that owns it.</summary>
    private static readonly Dictionary<string, string> Owners = new(StringComparer.Ordinal)
    {
        ["users"] = "Accounts",
        ["auth_sessions"] = "Auth",
        ["refresh_tokens"] = "Auth",
        ["app_secrets"] = "Auth",
        ["login_counters"] = "Auth",
        ["login_failures"] = "Auth",
        ["app_settings"] = "Settings",
        ["data_protection_keys"] = "Common",
        ["interfaces"] = "Interfaces",
        ["interface_parameters"] = "Interfaces",
        ["data_scripts"] = "Scripts",
        ["scheduled_tasks"] = "Tasks",
        ["starter_tasks"] = "Tasks",
        ["executions"] = "Executions",
        ["execution_parts"] = "Executions",
        ["execution_participants"] = "Executions",
        ["execution_calls"] = "Executions",
        ["execution_instances"] = "Executions",
        ["script_test_runs"] = "Executions",
        ["source_rate_slots"] = "Collection",
        ["site_family_states"] = "Collection",
        ["warehouse_tables"] = "Warehouse",
        ["confirmed_empty_days"] = "Warehouse",
        ["table_backfills"] = "Tables",
        ["table_health_findings"] = "Tables",
        ["table_health_checks"] = "Tables",
        ["notification_channels"] = "Notifications",
        ["notification_events"] = "Notifications",
        ["notification_deliveries"] = "Notifications",
        ["notification_sends"] = "Notifications",
    };

    /// <summary>SQL on another area's table that stays, file by file, and why.</summary>
    private static readonly (string File, string Table, string Why)[] Allowed =
    [
        ("src/AkshareWeb.Features/Auth/SessionCheck.cs", "users",
            "every authenticated request checks its token against the account and its session in one primary-key lookup; asking Accounts apart would cost every request a second round trip"),
        ("src/AkshareWeb.Features/Accounts/UserAccounts.cs", "auth_sessions",
            "revoking every token of an account (a password reset, a deactivation) bumps its token version and ends its sessions in one step of the caller's transaction; Users does it through the account store it shares with Auth, so Users keeps away from Auth"),
    ];

    [Fact]
    public void Every_table_of_the_schema_has_an_owner()
    {
        var migrations = Path.Combine(SourceCode.RepositoryRoot(), "src/AkshareWeb.Features/Migrations");
        var created = Directory.EnumerateFiles(migrations, "*.sql")
            .SelectMany(f => CreateTable().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.True(created.Count > 10, "the migrations were not found or not read");
        var unowned = created.Where(t => !Owners.ContainsKey(t)).Order(StringComparer.Ordinal).ToList();
        Assert.True(unowned.Count == 0, "Tables without an owner (add each to Owners with the area whose store answers for it): " + string.Join(", ", unowned));
        var gone = Owners.Keys.Where(t => !created.Contains(t)).Order(StringComparer.Ordinal).ToList();
        Assert.True(gone.Count == 0, "Owners lists tables no migration creates: " + string.Join(", ", gone));
    }

    [Fact]
    public void A_table_is_named_in_sql_only_by_its_owner()
    {
        var strays = Uses()
            .Where(u => Owners[u.Table] != u.File.Area)
            .Where(u => !Allowed.Any(a => a.File == u.File.Path && a.Table == u.Table))
            .Select(u => $"{u.File.Path}:{u.Line}: {u.Table} (owned by {Owners[u.Table]})")
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.True(strays.Count == 0, "SQL on a table outside the area that owns it (ask the owner's store instead):\n" + string.Join("\n", strays));
    }

    [Fact]
    public void The_allow_list_holds_only_exceptions_that_are_still_there()
    {
        var uses = Uses().Select(u => (u.File.Path, u.Table)).ToHashSet();
        var stale = Allowed.Where(a => !uses.Contains((a.File, a.Table))).Select(a => $"{a.File}: {a.Table}").ToList();
        Assert.True(stale.Count == 0, "Allowed exceptions that no longer occur (remove them):\n" + string.Join("\n", stale));
        Assert.All(Allowed, a => Assert.False(string.IsNullOrWhiteSpace(a.Why), $"{a.File}: {a.Table} needs its reason"));
    }

    [Fact]
    public void The_rule_finds_a_table_named_in_sql()
    {
        // A rule that matches nothing would pass for nothing: the owners' own SQL must be seen.
        var seen = Uses().Select(u => u.Table).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string>(["users", "executions", "execution_parts", "warehouse_tables", "data_scripts", "scheduled_tasks"]), seen);
        Assert.Equal(["executions"], Referenced("SELECT status FROM executions WHERE id = 1").ToList());
        Assert.Equal(["data_scripts", "interfaces"], Referenced("SELECT 1 FROM data_scripts s LEFT JOIN interfaces i ON i.name = s.interface_name").ToList());
        Assert.Empty(Referenced("the executions of a task (see /api/executions)"));
    }

    private static IEnumerable<(SourceFile File, int Line, string Table)> Uses() =>
        from file in SourceCode.Files
        from literal in file.StringLiterals()
        from table in Referenced(literal.Text)
        select (file, literal.Line, table);

    /// <summary>The tables a piece of SQL names after FROM, JOIN, INTO, UPDATE or TABLE.</summary>
    private static IEnumerable<string> Referenced(string sql) =>
        SqlTable().Matches(sql).Select(m => m.Groups[1].Value).Where(Owners.ContainsKey);

    [GeneratedRegex(@"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+`?([A-Za-z0-9_]+)`?", RegexOptions.IgnoreCase)]
    private static partial Regex SqlTable();

    [GeneratedRegex(@"CREATE TABLE IF NOT EXISTS `?([a-z0-9_]+)`?", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTable();
}
