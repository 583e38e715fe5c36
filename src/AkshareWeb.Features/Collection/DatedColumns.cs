using System.Text.RegularExpressions;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// For functions whose column names carry a date (fund_open_fund_daily_em answers <c>2026-08-20-单位净值</c>,
/// <c>2026-08-19-单位净值</c>…), which would add columns to the table every day. <see cref="Pattern"/> has two
/// groups, the date and the name. The newest date's columns keep their name, that date goes into
/// <see cref="DateColumn"/>, older dates' columns get <see cref="PreviousPrefix"/> before their name: the table
/// keeps one shape, and the date is a value that can be part of the key.
/// </summary>
public sealed record DatedColumns(string Pattern, string DateColumn, string PreviousPrefix)
{
    /// <summary>Renames the batch's dated columns and fills the date column; a batch without any is left as it is.</summary>
    public void Apply(RowBatch batch)
    {
        var dated = new List<(int Column, string Date, string Name)>();
        for (var c = 0; c < batch.Columns.Count; c++)
        {
            // Regex's own cache keeps the parsed pattern between batches; the record stays a plain value.
            var match = Regex.Match(batch.Columns[c], Pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            if (match.Success && match.Groups.Count >= 3) dated.Add((c, match.Groups[1].Value, match.Groups[2].Value));
        }

        if (dated.Count == 0) return;
        // Dates as AKShare writes them (yyyy-MM-dd) sort as text.
        var newest = dated.Select(d => d.Date).Max(StringComparer.Ordinal)!;
        foreach (var (column, date, name) in dated)
        {
            var stable = date == newest ? name : PreviousPrefix + name;
            if (!batch.RenameColumn(column, stable))
            {
                throw new InvalidOperationException(
                    $"the dated column {batch.Columns[column]} would be stored as {stable}, which the answer already has; the script's dated_columns rule does not fit this answer");
            }
        }

        batch.SetEverywhere(DateColumn, newest);
    }
}
