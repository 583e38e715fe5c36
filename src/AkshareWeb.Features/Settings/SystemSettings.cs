using System.Globalization;
using Dapper;
using MySqlConnector;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Settings;

/// <summary>The execution settings of <c>/api/settings/</c>, with the quotas of ordinary users (admins have none):
/// downloads and script tests running at once, tasks owned, the shortest time between two runs of a task, runs of
/// their tasks pending or running at once, the share of max_concurrent_tasks their manual runs may hold, and the parts
/// their parted runs may have waiting; and how long a parted run may take in all when its task does not say.</summary>
public sealed record ExecutionSettings(
    int MaxConcurrentTasks, int DefaultTimeout, bool RetryEnabled, int MaxRetries,
    int UserMaxRunningJobs, int UserMaxTasks, int UserMinScheduleMinutes, int UserMaxTaskRuns, int UserMaxSlotsPercent,
    int UserMaxPartsWaiting, int DefaultMaxRunMinutes)
{
    public static readonly ExecutionSettings Defaults = new(5, 300, true, 3, 2, 50, 5, 4, 50, 20_000, 360);

    /// <summary>How many slots one ordinary user's manual runs may hold at once: user_max_slots_percent of
    /// max_concurrent_tasks, rounded up, at least one.</summary>
    public int UserSlots() => Math.Max(1, (int)Math.Ceiling(MaxConcurrentTasks * (UserMaxSlotsPercent / 100.0)));
}

/// <summary>Configuration section <c>Quotas</c>: the users' quotas until an admin sets them through
/// <c>PUT /api/settings/</c> (what is stored there wins).</summary>
public sealed class QuotaOptions
{
    public const string Section = "Quotas";

    public int UserMaxRunningJobs { get; set; } = ExecutionSettings.Defaults.UserMaxRunningJobs;
    public int UserMaxTasks { get; set; } = ExecutionSettings.Defaults.UserMaxTasks;
    public int UserMinScheduleMinutes { get; set; } = ExecutionSettings.Defaults.UserMinScheduleMinutes;
    public int UserMaxTaskRuns { get; set; } = ExecutionSettings.Defaults.UserMaxTaskRuns;
    public int UserMaxSlotsPercent { get; set; } = ExecutionSettings.Defaults.UserMaxSlotsPercent;
    public int UserMaxPartsWaiting { get; set; } = ExecutionSettings.Defaults.UserMaxPartsWaiting;
}

/// <summary>
/// Reads and writes the run-time settings. Reads go to the database each time (a primary-key lookup), so a
/// change made through any instance is what the next run on every instance sees, with no restart.
/// </summary>
public sealed class SystemSettings(Database database, Microsoft.Extensions.Options.IOptions<QuotaOptions> quotas, TimeProvider time)
{
    private static readonly string[] ExecutionNames = ["max_concurrent_tasks", "default_timeout", "retry_enabled", "max_retries", "user_max_running_jobs", "user_max_tasks", "user_min_schedule_minutes",
        "user_max_task_runs", "user_max_slots_percent", "user_max_parts_waiting", "default_max_run_minutes"];

    public async Task<ExecutionSettings> GetExecutionSettingsAsync(CancellationToken ct)
    {
        var stored = await GetManyAsync(ExecutionNames, ct);
        var d = ExecutionSettings.Defaults;
        return new ExecutionSettings(
            Int(stored, "max_concurrent_tasks", d.MaxConcurrentTasks),
            Int(stored, "default_timeout", d.DefaultTimeout),
            stored.TryGetValue("retry_enabled", out var retry) ? retry == "true" : d.RetryEnabled,
            Int(stored, "max_retries", d.MaxRetries),
            Int(stored, "user_max_running_jobs", quotas.Value.UserMaxRunningJobs),
            Int(stored, "user_max_tasks", quotas.Value.UserMaxTasks),
            Int(stored, "user_min_schedule_minutes", quotas.Value.UserMinScheduleMinutes),
            Int(stored, "user_max_task_runs", quotas.Value.UserMaxTaskRuns),
            Int(stored, "user_max_slots_percent", quotas.Value.UserMaxSlotsPercent),
            Int(stored, "user_max_parts_waiting", quotas.Value.UserMaxPartsWaiting),
            Int(stored, "default_max_run_minutes", d.DefaultMaxRunMinutes));
    }

    public async Task<IReadOnlyDictionary<string, string>> GetManyAsync(IEnumerable<string> names, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<(string Name, string Value)>(new CommandDefinition(
            "SELECT name, value FROM app_settings WHERE name IN @names", new { names = names.ToArray() }, cancellationToken: ct));
        return rows.ToDictionary(r => r.Name, r => r.Value, StringComparer.Ordinal);
    }

    public async Task SetManyAsync(IReadOnlyDictionary<string, string> values, long? userId, CancellationToken ct)
    {
        if (values.Count == 0) return;
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            await SetAsync(connection, transaction, name, value, time.GetUtcNow().UtcDateTime, userId, ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>One setting, on the caller's connection; null when it was never stored.</summary>
    public static Task<string?> GetAsync(MySqlConnection connection, string name, CancellationToken ct) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition("SELECT value FROM app_settings WHERE name = @name", new { name }, cancellationToken: ct));

    /// <summary>Stores one setting in the caller's transaction (a marker that must change together with what it marks).</summary>
    public static Task SetAsync(MySqlConnection connection, MySqlTransaction transaction, string name, string value, DateTime now, long? userId, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO app_settings (name, value, updated_at, updated_by) VALUES (@name, @value, @now, @userId)
            ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)
            """, new { name, value, now, userId }, transaction, cancellationToken: ct));

    private static int Int(IReadOnlyDictionary<string, string> stored, string name, int fallback) =>
        stored.TryGetValue(name, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
