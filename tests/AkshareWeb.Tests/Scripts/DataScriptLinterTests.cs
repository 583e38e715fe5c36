using AkshareWeb.Features.Interfaces;
using AkshareWeb.Features.Scripts;

namespace AkshareWeb.Tests.Scripts;

/// <summary>DataScriptLinter's rules, one outcome each, on scripts parsed as the scan parses them.</summary>
public sealed class DataScriptLinterTests
{
    private static readonly RegistrySnapshot Snapshot = new("9.9.9",
    [
        new SnapshotInterface("bars", "akshare.test", "stock",
            [new("symbol", "str", "000001"), new("period", "str", "daily"), new("start_date", "str", "19700101"), new("adjust", "str", "")],
            [new("日期", "object"), new("股票代码", "object"), new("收盘", "float64")]),
        new SnapshotInterface("navs", "akshare.test", "fund", [], [new("基金代码", "object"), new("2026-08-20-单位净值", "float64"), new("2026-08-19-单位净值", "float64")]),
        new SnapshotInterface("unlisted_outputs", "akshare.test", "macro", [new("symbol", "str", null)], []),
    ]);

    /// <summary>A script on the interface "bars" (upsert on 股票代码 and 日期) with <paramref name="parameters"/> and
    /// <paramref name="more"/> top-level keys.</summary>
    private static IReadOnlyList<string> Lint(string parameters = "", string more = "", string mode = "upsert", string keys = "\"股票代码\", \"日期\"",
        string function = "bars")
    {
        var json = $$"""
            {"id": "probe", "name": "探针", "category": "stocks", "frequency": "daily", "interface": "{{function}}",
             "parameters": [{{parameters}}], "target_table": "ak_probe", "write_mode": "{{mode}}", "key_columns": [{{keys}}] {{more}}}
            """;
        var (script, errors) = DataScriptFiles.Parse(json, "stocks", "daily", "probe");
        Assert.True(script is not null, string.Join("; ", errors));
        return DataScriptLinter.Lint(script, Snapshot);
    }

    [Fact]
    public void A_script_that_keeps_every_rule_is_clean() =>
        Assert.Empty(Lint("""
            {"name": "symbol", "column": "股票代码"}, {"name": "period", "default": "daily"}, {"name": "start_date", "type": "date", "role": "range", "default": "today-30d"}
            """, """, "extra_columns": {"period": "{period}"}""", keys: "\"股票代码\", \"日期\", \"period\""));

    [Fact]
    public void An_interface_the_snapshot_lacks_is_reported() =>
        Assert.Contains("interface nowhere is not in AKShare 9.9.9", Lint(function: "nowhere", keys: "\"x\"", more: """, "extra_columns": {"x": "1"}"""));

    [Fact]
    public void A_parameter_the_function_does_not_take_is_reported() =>
        Assert.Contains(Lint("""{"name": "market", "role": "range"}"""), p => p.StartsWith("parameter market is not a parameter of bars", StringComparison.Ordinal));

    [Fact]
    public void A_key_column_that_is_no_output_and_no_extra_column_is_reported() =>
        Assert.Contains("key column 时间 is neither an output column of bars nor an extra column", Lint(keys: "\"股票代码\", \"时间\""));

    [Fact]
    public void A_key_column_may_be_an_extra_column() =>
        Assert.Empty(Lint(keys: "\"股票代码\", \"collected_on\"", more: """, "extra_columns": {"collected_on": "{today}"}"""));

    [Fact]
    public void Output_columns_replace_the_registrys_list() =>
        Assert.Empty(Lint(keys: "\"时间\"", more: """, "output_columns": [{"name": "时间", "type": "object"}], "output_columns_note": "the code returns 时间" """));

    [Fact]
    public void Output_columns_without_a_note_are_reported() =>
        Assert.Contains(Lint(keys: "\"时间\"", more: """, "output_columns": [{"name": "时间", "type": "object"}]"""), p => p.StartsWith("output_columns needs output_columns_note", StringComparison.Ordinal));

    [Fact]
    public void Key_columns_of_an_interface_without_listed_outputs_ask_for_output_columns() =>
        Assert.Contains(Lint(function: "unlisted_outputs", keys: "\"日期\""), p => p.Contains("lists no output columns for unlisted_outputs", StringComparison.Ordinal));

    [Fact]
    public void Dated_columns_are_checked_by_the_names_the_engine_stores() =>
        Assert.Empty(Lint(function: "navs", keys: "\"基金代码\", \"净值日期\", \"单位净值\", \"前一日单位净值\"",
            more: """, "dated_columns": {"pattern": "^(\\d{4}-\\d{2}-\\d{2})-(.+)$", "date_column": "净值日期", "previous_prefix": "前一日"}"""));

    [Fact]
    public void A_role_other_than_key_or_range_is_reported() =>
        Assert.Contains("parameter symbol: role must be key or range, not filter", Lint("""{"name": "symbol", "role": "filter", "column": "股票代码"}"""));

    [Fact]
    public void A_key_parameter_of_an_upsert_that_reaches_no_key_column_is_reported() =>
        Assert.Contains(Lint("""{"name": "symbol"}"""), p => p.StartsWith("parameter symbol has role key, but its value reaches no key column", StringComparison.Ordinal));

    [Fact]
    public void A_key_parameter_whose_extra_column_is_not_in_the_key_is_reported() =>
        Assert.Contains(Lint("""{"name": "symbol"}""", """, "extra_columns": {"symbol": "{symbol}"}"""),
            p => p.StartsWith("parameter symbol has role key, but the column carrying it (symbol) is not in key_columns", StringComparison.Ordinal));

    [Fact]
    public void A_key_parameter_of_an_append_may_reach_the_rows_through_an_extra_column() =>
        Assert.Empty(Lint("""{"name": "symbol"}""", """, "extra_columns": {"symbol": "{symbol}"}""", mode: "append", keys: ""));

    [Fact]
    public void A_key_parameter_of_an_append_that_is_in_no_row_is_reported() =>
        Assert.Contains(Lint("""{"name": "symbol"}""", mode: "append", keys: ""), p => p.StartsWith("parameter symbol has role key, but its value is in no row", StringComparison.Ordinal));

    [Fact]
    public void A_replace_script_cannot_have_a_key_parameter() =>
        Assert.Contains(Lint("""{"name": "symbol", "column": "股票代码"}""", mode: "replace", keys: ""),
            p => p.StartsWith("parameter symbol has role key, which a replace script cannot have", StringComparison.Ordinal));

    [Fact]
    public void A_range_parameter_of_a_replace_script_is_fine() =>
        Assert.Empty(Lint("""{"name": "start_date", "type": "date", "role": "range", "default": "quarter_end-1q"}""", mode: "replace", keys: ""));

    [Fact]
    public void Period_and_adjust_must_be_key_parameters() =>
        Assert.Contains("parameter adjust must have role key: another adjust makes rows that mean something else",
            Lint("""{"name": "adjust", "role": "range", "default": ""}"""));

    [Fact]
    public void A_column_that_is_no_output_column_is_reported() =>
        Assert.Contains("parameter symbol: column 代码 is not an output column of bars",
            Lint("""{"name": "symbol", "column": "代码"}""", keys: "\"代码\", \"日期\""));

    [Fact]
    public void A_default_outside_allowed_is_reported() =>
        Assert.Contains("parameter period: default \"daily\" is not one of allowed",
            Lint("""{"name": "period", "default": "daily", "allowed": ["weekly", "monthly"]}""", """, "extra_columns": {"period": "{period}"}""", keys: "\"股票代码\", \"日期\", \"period\""));

    [Theory]
    [InlineData("today-30d")]
    [InlineData("quarter_end")]
    [InlineData("quarter_end-4q")]
    [InlineData("month_end-1m")]
    [InlineData("year_end-2y")]
    [InlineData("20240131")]
    public void Date_defaults_parse_when_relative_or_in_the_format(string value) =>
        Assert.True(DataScriptFiles.DateDefaultParses(value, "yyyyMMdd"));

    [Theory]
    [InlineData("quarter_end-1m")]
    [InlineData("yesterday")]
    [InlineData("2024-01-31")]
    public void Other_date_defaults_do_not_parse(string value) =>
        Assert.False(DataScriptFiles.DateDefaultParses(value, "yyyyMMdd"));

    [Fact]
    public void The_registrys_wrong_column_for_option_sse_daily_sina_needs_output_columns_in_the_bundled_snapshot()
    {
        const string json = """
            {"id": "option_probe", "name": "期权探针", "category": "options", "frequency": "daily", "interface": "option_sse_daily_sina",
             "parameters": [{"name": "symbol", "required": true}], "target_table": "ak_option_probe", "write_mode": "upsert",
             "key_columns": ["symbol", "日期"], "extra_columns": {"symbol": "{symbol}"} OUTPUTS}
            """;
        var (wrong, _) = DataScriptFiles.Parse(json.Replace("OUTPUTS", "", StringComparison.Ordinal), "options", "daily", "option_probe");
        Assert.Contains("key column 日期 is neither an output column of option_sse_daily_sina nor an extra column", DataScriptLinter.Lint(wrong!, RegistrySnapshot.Load()));
        var (told, _) = DataScriptFiles.Parse(json.Replace("OUTPUTS", """, "output_columns": [{"name": "日期", "type": "object"}, {"name": "收盘", "type": "float64"}], "output_columns_note": "the code returns 日期" """, StringComparison.Ordinal),
            "options", "daily", "option_probe");
        Assert.Empty(DataScriptLinter.Lint(told!, RegistrySnapshot.Load()));
    }
}
