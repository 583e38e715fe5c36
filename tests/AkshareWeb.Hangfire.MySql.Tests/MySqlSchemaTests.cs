using Dapper;

namespace AkshareWeb.Hangfire.MySql.Tests;

public sealed class MySqlSchemaTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public void Install_twice_is_idempotent_and_records_the_version()
    {
        var prefix = TestDatabase.NewPrefix();
        db.CreateStorage(prefix: prefix);
        db.CreateStorage(prefix: prefix);

        using var connection = db.Open();
        Assert.Equal(MySqlSchema.CurrentVersion, connection.ExecuteScalar<int>($"SELECT `Version` FROM `{prefix}schema`"));
        Assert.Equal(1, connection.ExecuteScalar<int>($"SELECT COUNT(*) FROM `{prefix}schema`"));
    }

    [Fact]
    public void Concurrent_installs_from_several_storages_all_succeed()
    {
        var prefix = TestDatabase.NewPrefix();
        var errors = new List<Exception>();
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            try
            {
                db.CreateStorage(prefix: prefix);
            }
            catch (Exception ex)
            {
                lock (errors)
                {
                    errors.Add(ex);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(errors);
        using var connection = db.Open();
        var tables = connection.Query<string>(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE @p",
            new { p = prefix + "%" }).ToList();
        Assert.Equal(11, tables.Count);
    }

    [Fact]
    public void Every_table_has_a_primary_key_and_datetime6_and_double_scores()
    {
        var prefix = TestDatabase.NewPrefix();
        db.CreateStorage(prefix: prefix);
        using var connection = db.Open();

        var withoutPk = connection.Query<string>(
            """
            SELECT t.TABLE_NAME FROM information_schema.TABLES t
            WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME LIKE @p
              AND NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c
                              WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY')
            """,
            new { p = prefix + "%" }).ToList();
        Assert.Empty(withoutPk);

        var dateTypes = connection.Query<string>(
            "SELECT DISTINCT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE @p AND DATA_TYPE = 'datetime'",
            new { p = prefix + "%" }).ToList();
        Assert.Equal(["datetime(6)"], dateTypes);
        Assert.Equal("double", connection.ExecuteScalar<string>(
            "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @t AND COLUMN_NAME = 'Score'",
            new { t = prefix + "set" }));
    }

    [Fact]
    public void Default_prefix_is_hangfire_and_bad_prefixes_are_rejected()
    {
        Assert.Equal("hangfire_", new MySqlStorageOptions().TablesPrefix);
        Assert.Throws<ArgumentException>(() => new MySqlStorageOptions { TablesPrefix = "bad`name" });
        Assert.Throws<ArgumentException>(() => new MySqlStorageOptions { TablesPrefix = new string('a', 25) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new MySqlStorageOptions { QueuePollInterval = TimeSpan.Zero });
        Assert.Throws<ArgumentOutOfRangeException>(() => new MySqlStorageOptions { DashboardJobListLimit = 0 });
    }

    [Fact]
    public void ToString_does_not_reveal_the_password()
    {
        var storage = db.CreateStorage();
        Assert.DoesNotContain("Password", storage.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(db.Name, storage.ToString(), StringComparison.Ordinal);
    }
}
