using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Tests.Warehouse;

/// <summary>What a filter's value may be for a date or a timestamp column, and the value MySQL then receives.</summary>
public sealed class FilterOperatorsTests
{
    [Theory]
    [InlineData("DATE", "2024-01-05", "2024-01-05")]
    [InlineData("DATE", "20240105", "2024-01-05")]
    [InlineData("DATETIME", "20240105", "2024-01-05 00:00:00.000000")]
    [InlineData("DATETIME", "2024-01-05", "2024-01-05 00:00:00.000000")]
    [InlineData("DATETIME", "2024-01-05 09:30", "2024-01-05 09:30:00.000000")]
    [InlineData("DATETIME(6)", "2024-01-05T09:30:15.25", "2024-01-05 09:30:15.250000")]
    [InlineData("TIMESTAMP", "2024-01-05 09:30:15", "2024-01-05 09:30:15.000000")]
    public void A_day_or_a_full_timestamp_is_taken_in_one_form(string type, string value, string expected) =>
        Assert.Equal(expected, FilterOperators.Canonical(type, "gte", value));

    [Theory]
    [InlineData("DATE", "Jan 2024")]
    [InlineData("DATE", "2024/01/01")]
    [InlineData("DATE", "2024-1-5")]
    [InlineData("DATE", "2024-01-05 09:30:00")]
    [InlineData("DATETIME", "2024/01/05 09:30")]
    [InlineData("DATETIME", "5 Jan 2024")]
    [InlineData("DATETIME", "2024-01-05 25:00")]
    public void Anything_else_is_refused(string type, string value) => Assert.Null(FilterOperators.Canonical(type, "eq", value));
}
