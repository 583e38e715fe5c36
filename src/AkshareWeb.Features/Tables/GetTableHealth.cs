using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tables;

/// <summary>The columns a table's health was checked on (AKShare's names; null: the table has none for the role) and
/// where they were learned: <c>script</c> (its bar_columns) or <c>names</c> (AKShare's usual names).</summary>
public sealed record HealthColumns(string? Open, string? High, string? Low, string? Close, string? Volume, string Source);

/// <summary>
/// A table's health findings within a range: the rules' counts (every rule named), the page of findings by key, day,
/// rule and column, and what the check used: its columns, the move limit and when the table was last checked whole.
/// </summary>
public sealed record TableHealthReport(
    string TableName, string DateColumn, IReadOnlyList<string> KeyColumns, HealthColumns Columns, double MoveLimit, DateOnly? From, DateOnly? To, DateTime? CheckedAt,
    IReadOnlyDictionary<string, long> Counts, IReadOnlyList<HealthFinding> Items, long Total, int Page, int PageSize, int TotalPages);

public static class GetTableHealth
{
    public sealed class Parameters : PageParameters
    {
        /// <summary>First day checked, YYYY-MM-DD; default the table's first.</summary>
        [FromQuery(Name = "from")] public string? From { get; init; }
        /// <summary>Last day checked, YYYY-MM-DD; default the table's last.</summary>
        [FromQuery(Name = "to")] public string? To { get; init; }
        /// <summary>Only the findings of this rule (the counts are of every rule).</summary>
        [FromQuery(Name = "rule")] public string? Rule { get; init; }
    }

    public sealed record Query(string TableName, string? From, string? To, string? Rule, PageRequest Paging) : IQuery<TableHealthReport>;

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            this.RuleForRange(q => q.From, q => q.To);
            RuleFor(q => q.Rule).Must(r => r is null || HealthRules.All.Contains(r)).WithMessage("rule must be one of " + string.Join(", ", HealthRules.All)).OverridePropertyName("rule");
        }
    }

    public sealed class Handler(TableHealth health, HealthStore store) : IQueryHandler<Query, TableHealthReport>
    {
        public async ValueTask<TableHealthReport> Handle(Query query, CancellationToken ct)
        {
            var (from, to) = (CalendarDates.Parse(query.From), CalendarDates.Parse(query.To));
            var shape = await health.ShapeAsync(query.TableName, ct);
            await health.EnsureCurrentAsync(shape, from, to, ct);
            var found = await store.CountsAsync(shape.Name, from, to, ct);
            var (items, total) = await store.PageAsync(shape.Name, from, to, query.Rule, query.Paging, ct);
            var mark = await store.MarkAsync(shape.Name, ct);
            var bars = shape.Bars;
            var columns = new HealthColumns(bars.Open?.OriginalName, bars.High?.OriginalName, bars.Low?.OriginalName, bars.Close?.OriginalName, bars.Volume?.OriginalName, bars.Source);
            var paged = Paged<HealthFinding>.Of(items, total, query.Paging);
            return new TableHealthReport(shape.Name, shape.Coverage.DateColumn.OriginalName, shape.Coverage.KeyColumns.Select(c => c.OriginalName).ToList(), columns,
                health.MoveLimit, from, to, mark?.CheckedAt, HealthRules.All.ToDictionary(r => r, r => found.GetValueOrDefault(r), StringComparer.Ordinal),
                paged.Items, paged.Total, paged.Page, paged.PageSize, paged.TotalPages);
        }
    }

    internal static async Task<Ok<Envelope<TableHealthReport>>> Endpoint(string tableName, [AsParameters] Parameters p, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TableHealthReport>.Success(await mediator.Send(new Query(tableName, p.From, p.To, p.Rule, p.ToRequest()), ct)));
}
