using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Calendar;

/// <summary>
/// The trading days from <c>from</c> to <c>to</c> (both included), and the calendar they come from: its first and
/// last day, its source (<c>akshare:tool_trade_date_hist_sina</c> once a run of that script has replaced the bundled
/// snapshot, else the snapshot's "derived: ..." description) and when a run last replaced it (null for the snapshot).
/// A range reaching past the calendar's last day is answered as far as the calendar goes, with
/// <c>past_calendar_end</c> true: Sina publishes the next year's days late in December.
/// </summary>
public sealed record TradingDaysAnswer(IReadOnlyList<DateOnly> Items, DateOnly? First, DateOnly? Last, string Source, DateTime? UpdatedAt, bool PastCalendarEnd);

public static class GetTradingDays
{
    public sealed class Parameters
    {
        /// <summary>First day, YYYY-MM-DD; default the calendar's first.</summary>
        [FromQuery(Name = "from")] public string? From { get; init; }
        /// <summary>Last day, YYYY-MM-DD; default the calendar's last.</summary>
        [FromQuery(Name = "to")] public string? To { get; init; }
    }

    public sealed record Query(string? From, string? To) : IQuery<TradingDaysAnswer>;

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => this.RuleForRange(q => q.From, q => q.To);
    }

    public sealed class Handler(TradingCalendar calendar) : IQueryHandler<Query, TradingDaysAnswer>
    {
        public async ValueTask<TradingDaysAnswer> Handle(Query query, CancellationToken ct)
        {
            var current = await calendar.CurrentAsync(ct);
            var days = current.Days;
            var from = CalendarDates.Parse(query.From) ?? days.First ?? DateOnly.MinValue;
            var to = CalendarDates.Parse(query.To) ?? days.Last ?? DateOnly.MinValue;
            var (start, length) = days.Between(from, to).GetOffsetAndLength(days.Count);
            var items = new DateOnly[length];
            for (var i = 0; i < length; i++) items[i] = days[start + i];
            return new TradingDaysAnswer(items, days.First, days.Last, current.Source, current.UpdatedAt, days.Last is { } last && to > last);
        }
    }

    internal static async Task<Ok<Envelope<TradingDaysAnswer>>> Endpoint([AsParameters] Parameters p, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<TradingDaysAnswer>.Success(await mediator.Send(new Query(p.From, p.To), ct)));
}
