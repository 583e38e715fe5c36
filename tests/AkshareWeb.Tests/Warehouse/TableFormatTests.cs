using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Tests.Warehouse;

/// <summary>
/// The warehouse table format's pure rules, shared by the writer and the readers: which names are warehouse
/// tables, how an original column name survives in a comment, and what the indexes are called.
/// </summary>
public sealed class TableFormatTests
{
    [Fact]
    public void A_lowercase_ak_name_is_a_warehouse_table() => Assert.True(TableNames.IsWarehouseTable("ak_stock_zh_a_hist"));

    [Fact]
    public void A_name_without_the_ak_prefix_is_not_a_warehouse_table() => Assert.False(TableNames.IsWarehouseTable("executions"));

    [Fact]
    public void Uppercase_letters_make_a_name_no_warehouse_table() => Assert.False(TableNames.IsWarehouseTable("ak_Stock"));

    [Fact]
    public void The_prefix_alone_is_no_warehouse_table() => Assert.False(TableNames.IsWarehouseTable("ak_"));

    [Fact]
    public void Sixty_four_characters_is_the_longest_warehouse_table_name() => Assert.True(TableNames.IsWarehouseTable("ak_" + new string('a', 61)));

    [Fact]
    public void Sixty_five_characters_is_too_long_for_a_warehouse_table_name() => Assert.False(TableNames.IsWarehouseTable("ak_" + new string('a', 62)));

    [Fact]
    public void Quoting_characters_make_a_name_no_warehouse_table() => Assert.False(TableNames.IsWarehouseTable("ak_x`; DROP TABLE users"));

    [Fact]
    public void A_plain_name_is_its_own_comment() => Assert.Equal("股票代码", ColumnComments.Encode("股票代码"));

    [Fact]
    public void A_name_beyond_the_bmp_is_kept_behind_the_marker() => Assert.StartsWith("json:", ColumnComments.Encode("📈涨幅"), StringComparison.Ordinal);

    [Fact]
    public void A_name_beyond_the_bmp_is_kept_without_surrogates() => Assert.DoesNotContain(ColumnComments.Encode("📈涨幅"), char.IsSurrogate);

    [Fact]
    public void A_name_that_starts_with_the_marker_is_escaped_too() => Assert.StartsWith("json:\"json:", ColumnComments.Encode("json:x"), StringComparison.Ordinal);

    [Fact]
    public void An_escaped_name_decodes_to_the_original() => Assert.Equal("📈涨幅", ColumnComments.OriginalName("涨幅~1a2b3c4d", ColumnComments.Encode("📈涨幅")));

    [Fact]
    public void A_name_with_the_marker_decodes_to_the_original() => Assert.Equal("json:x", ColumnComments.OriginalName("json:x", ColumnComments.Encode("json:x")));

    [Fact]
    public void A_column_without_a_comment_is_named_by_its_sql_name() => Assert.Equal("日期", ColumnComments.OriginalName("日期", ""));

    [Fact]
    public void A_bookkeeping_column_is_named_by_its_sql_name_not_its_description() =>
        Assert.Equal("_execution_id", ColumnComments.OriginalName("_execution_id", "the execution that last wrote the row"));

    [Fact]
    public void A_comment_literal_doubles_quotes_and_backslashes() => Assert.Equal("'a''b\\\\c'", ColumnComments.Literal("a'b\\c"));

    [Fact]
    public void A_usable_name_is_its_own_sql_name() => Assert.Equal("收盘", ColumnNames.ToSql("收盘", []));

    [Fact]
    public void A_name_clashing_with_a_bookkeeping_column_gets_a_hashed_sql_name() => Assert.Matches("^_row_hash~[0-9a-f]{8}$", ColumnNames.ToSql("_row_hash", []));

    [Fact]
    public void A_name_taken_but_for_case_gets_a_hashed_sql_name() => Assert.Matches("^Close~[0-9a-f]{8}$", ColumnNames.ToSql("Close", ["close"]));

    [Fact]
    public void A_short_column_gets_a_readable_sort_index_name() => Assert.Equal("ix_sort_收盘", IndexNames.Sort("收盘"));

    [Fact]
    public void A_long_column_gets_a_hashed_sort_index_name_that_fits_mysql() =>
        Assert.Matches("^ix_sort_[0-9a-f]{16}$", IndexNames.Sort(new string('x', 60)));

    [Fact]
    public void Sort_index_names_are_recognised_whatever_their_case() => Assert.True(IndexNames.IsSort("IX_SORT_close"));

    [Fact]
    public void The_row_key_and_row_hash_are_the_hidden_columns() => Assert.Equal(["_row_key", "_row_hash"], BookkeepingColumns.Hidden);
}
