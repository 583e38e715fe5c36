using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tables;

/// <summary>The calendar a coverage was measured against.</summary>
public sealed record CoverageCalendar(DateOnly? First, DateOnly? Last, string Source, DateTime? UpdatedAt);

/// <summary>
/// A table's coverage against the trading calendar: per key (the key columns but the date) what was expected, stored
/// and missing, the missing days named (at most 100, <c>missing_ranges</c> covering all of them), days confirmed empty,
/// and whether the key is stale; the summary of every key the filters and range select; the list fields of every list.
/// </summary>
public sealed record TableCoverage(
    string TableName, string DateColumn, IReadOnlyList<string> KeyColumns, DateOnly? From, DateOnly? To, DateOnly? ExpectedThrough, bool PastCalendarEnd,
    CoverageCalendar Calendar, CoverageSummary Summary, IReadOnlyList<KeyCoverage> Items, long Total, int Page, int PageSize, int TotalPages);

public static class GetTableCoverage
{
    public sealed class Parameters : PageParameters
    {
        /// <summary>First day that counts, YYYY-MM-DD; default each key's first stored date.</summary>
        [FromQuery(Name = "from")] public string? From { get; init; }
        /// <summary>Last day that counts, YYYY-MM-DD; default (and at most) the last trading day whose close has passed.</summary>
        [FromQuery(Name = "to")] public string? To { get; init; }
        /// <summary>gaps (keys missing something), complete, or all (default).</summary>
        [FromQuery(Name = "status")] public string? Status { get; init; }
    }

    /// <param name="Filters">The query string, whose <c>filter[...]</c> keys narrow the keys.</param>
    public sealed record Query(string TableName, string? From, string? To, string? Status, PageRequest Paging, IQueryCollection Filters) : IQuery<TableCoverage>;

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            this.RuleForPaging(q => q.Paging);
            this.RuleForRange(q => q.From, q => q.To);
            this.RuleForStatusFilter(q => q.Status, CoverageReader.Statuses.ToList());
        }
    }

    public sealed class Handler(CoverageReader reader, CoverageSummaries summaries, BackfillMarks backfills) : IQueryHandler<Query, TableCoverage>
    {
        public async ValueTask<TableCoverage> Handle(Query query, CancellationToken ct)
        {
            var (from, to) = (CalendarDates.Parse(query.From), CalendarDates.Parse(query.To));
            // A backfill that ended since leaves its confirmed-empty marks first (one whose every answer was empty wrote no row to say it ended).
            await backfills.SettleQuietlyAsync(query.TableName, ct);
            var reading = await reader.ReadAsync(query.TableName,
                new CoverageRequest(from, to, query.Status ?? CoverageReader.All, query.Filters, query.Paging), ct);
            var (shape, view, window) = (reading.Shape, reading.Calendar, reading.Window);
            if (from is null && to is null && !query.Filters.Keys.Any(k => k.StartsWith("filter", StringComparison.OrdinalIgnoreCase)))
            {
                summaries.Remember(shape, reading.Summary);
            }

            var paged = Paged<KeyCoverage>.Of(reading.Items, reading.Total, query.Paging);
            return new TableCoverage(shape.Name, shape.DateColumn.OriginalName, shape.KeyColumns.Select(c => c.OriginalName).ToList(), from, to,
                reading.Summary.Through, window.PastCalendarEnd, new CoverageCalendar(view.Days.First, view.Days.Last, view.Source, view.UpdatedAt),
                reading.Summary, paged.Items, paged.Total, paged.Page, paged.PageSize, paged.TotalPages);
        }
    }

    internal static async Task<Ok<Envelope<TableCoverage>>> Endpoint(string tableName, [AsParameters] Parameters p, HttpContext context, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TableCoverage>.Success(await mediator.Send(
            new Query(tableName, p.From, p.To, p.Status, p.ToRequest(), context.Request.Query), ct)));
}
