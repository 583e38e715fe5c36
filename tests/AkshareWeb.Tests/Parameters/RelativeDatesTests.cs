using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Tests.Parameters;

public sealed class RelativeDatesTests
{
    private static readonly DateOnly Today = new(2026, 11, 29);

    [Theory]
    [InlineData("today", "2026-11-29")]
    [InlineData("today-30d", "2026-10-30")]
    [InlineData("today+1w", "2026-12-06")]
    [InlineData("today-6m", "2026-05-29")]
    [InlineData("quarter_end", "2026-09-30")]
    [InlineData("quarter_end-1q", "2026-06-30")]
    [InlineData("quarter_end-4q", "2025-09-30")]
    [InlineData("month_end", "2026-10-31")]
    [InlineData("month_end-1m", "2026-09-30")]
    [InlineData("year_end", "2025-12-31")]
    [InlineData("year_end-1y", "2024-12-31")]
    public void Each_expression_names_its_day(string text, string expected) =>
        Assert.Equal(DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), RelativeDates.Resolve(text, Today));

    [Fact]
    public void The_last_day_of_a_quarter_is_not_yet_an_ended_quarter() =>
        Assert.Equal(new DateOnly(2026, 6, 30), RelativeDates.Resolve("quarter_end", new DateOnly(2026, 9, 30)));

    [Fact]
    public void Anything_else_is_no_relative_date() =>
        Assert.Null(RelativeDates.Resolve("month_end-1q", Today));
}
