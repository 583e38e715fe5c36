namespace AkshareWeb.Api.Setup;

/// <summary>The request example of each operation with a JSON body, by its operation id (<see cref="OpenApiShape"/> sets them).</summary>
internal static class OpenApiExamples
{
    public static readonly IReadOnlyDictionary<string, object> All = new Dictionary<string, object>(StringComparer.Ordinal)
    {
        ["Register"] = new Dictionary<string, object?> { ["username"] = "quant01", ["email"] = "quant01@example.com", ["password"] = "s3cret-pass", ["password_confirm"] = "s3cret-pass" },
        ["Login"] = new Dictionary<string, object?> { ["username"] = "quant01", ["password"] = "s3cret-pass" },
        ["RefreshToken"] = new Dictionary<string, object?> { ["refresh_token"] = "the refresh_token of the last login or refresh" },
        ["UpdateUser"] = new Dictionary<string, object?> { ["email"] = "quant01@example.org", ["role"] = "user", ["is_active"] = true },
        ["ResetUserPassword"] = new Dictionary<string, object?> { ["new_password"] = "another-pass-1" },
        ["ChangePassword"] = new Dictionary<string, object?> { ["current_password"] = "s3cret-pass", ["new_password"] = "another-pass-1" },
        ["UpdateSettings"] = new Dictionary<string, object?> { ["max_concurrent_tasks"] = 4, ["default_timeout"] = 600, ["retry_enabled"] = true, ["max_retries"] = 3 },
        ["UpdateDatabaseSettings"] = new Dictionary<string, object?> { ["host"] = "db.internal", ["port"] = 3306, ["database"] = "akshare_data", ["username"] = "akshare", ["password"] = "db-pass" },
        ["TestDatabaseConnection"] = new Dictionary<string, object?> { ["host"] = "db.internal", ["port"] = 3306, ["database"] = "akshare_data", ["username"] = "akshare", ["password"] = "db-pass" },
        ["TestScript"] = new Dictionary<string, object?> { ["parameters"] = new Dictionary<string, object?> { ["symbol"] = "000001" } },
        ["DownloadData"] = new Dictionary<string, object?> { ["interface_name"] = "stock_zh_a_hist", ["parameters"] = new Dictionary<string, object?> { ["symbol"] = "000001", ["start_date"] = "20240101", ["end_date"] = "20241231" } },
        ["CreateTask"] = new Dictionary<string, object?>
        {
            ["name"] = "Ping An Bank daily bars", ["description"] = "after the close", ["script_id"] = "stock_zh_a_hist",
            ["schedule_type"] = "cron", ["schedule_expression"] = "0 16 * * 1-5", ["parameters"] = new Dictionary<string, object?> { ["symbol"] = "000001" },
            ["retry_on_failure"] = true, ["max_retries"] = 3, ["timeout_seconds"] = 600, ["is_active"] = true,
        },
        ["UpdateTask"] = new Dictionary<string, object?> { ["schedule_expression"] = "30 16 * * 1-5", ["is_active"] = true },
        ["PreviewSchedule"] = new Dictionary<string, object?> { ["schedule_type"] = "cron", ["schedule_expression"] = "0 16 * * 1-5", ["count"] = 5 },
        ["CreateChannel"] = new Dictionary<string, object?>
        {
            ["name"] = "夜间采集值班群", ["type"] = "dingtalk", ["url"] = "https://oapi.dingtalk.com/robot/send?access_token=<the robot's token>",
            ["secret"] = "SEC<the robot's signing secret>", ["events"] = new[] { "run_failed", "task_failing", "instance_lost" }, ["scope"] = "mine",
        },
        ["UpdateChannel"] = new Dictionary<string, object?> { ["events"] = new[] { "run_failed", "task_failing" }, ["is_active"] = true },
        ["BackfillTable"] = new Dictionary<string, object?> { ["from"] = "2024-01-01", ["to"] = "2024-12-31", ["keys"] = new[] { new Dictionary<string, object?> { ["股票代码"] = "000001" }, new Dictionary<string, object?> { ["股票代码"] = "600519", ["period"] = "daily" } } },
    };
}
