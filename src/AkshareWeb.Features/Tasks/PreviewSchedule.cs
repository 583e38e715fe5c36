using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Tasks;

/// <summary>
/// When a schedule would fire, before a task is saved with it: the server's own reading of the expression (the cron
/// library, the market's zone, the interval grid), so what an editor shows is what the scheduler will do.
/// </summary>
public static class PreviewSchedule
{
    public const int DefaultCount = 5;
    public const int MaxCount = 20;

    /// <summary><c>count</c>: how many fire times (1-20, default 5).</summary>
    public sealed record Command(string? ScheduleType, string? ScheduleExpression, int? Count) : IQuery<Result>;

    /// <summary>
    /// <c>fire_times</c> in the market's zone (<c>time_zone</c>, Beijing time unless configured), with its offset; an interval
    /// task's are its due times counted from now (each run starts at the first interval check after, every minute by
    /// default); a once task has one.
    /// </summary>
    public sealed record Result(string TimeZone, IReadOnlyList<DateTimeOffset> FireTimes);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IOptions<SchedulerOptions> options, MarketTime market, TimeProvider time)
        {
            RuleFor(c => c.ScheduleType).NotEmpty().Must(t => ScheduleTypes.All.Contains(t)).WithMessage("schedule_type must be cron, interval or once");
            RuleFor(c => c.ScheduleExpression).NotEmpty().MaximumLength(TaskRules.ScheduleExpressionMaxLength);
            RuleFor(c => c.ScheduleExpression)
                .Must((c, e) => Problem(c, options.Value, market, time) is null)
                .WithMessage(c => Problem(c, options.Value, market, time) ?? "")
                .When(c => ScheduleTypes.All.Contains(c.ScheduleType) && !string.IsNullOrWhiteSpace(c.ScheduleExpression));
            RuleFor(c => c.Count).InclusiveBetween(1, MaxCount);
        }

        private static string? Problem(Command c, SchedulerOptions options, MarketTime market, TimeProvider time) =>
            ScheduleRules.Problem(c.ScheduleType!, c.ScheduleExpression!.Trim(), time.GetUtcNow().UtcDateTime, options.MinIntervalSeconds, market.Zone);
    }

    public sealed class Handler(MarketTime market, TimeProvider time) : IQueryHandler<Command, Result>
    {
        public ValueTask<Result> Handle(Command command, CancellationToken ct)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var expression = command.ScheduleExpression!.Trim();
            var count = command.Count ?? DefaultCount;
            IEnumerable<DateTime> times = command.ScheduleType switch
            {
                ScheduleTypes.Cron => ScheduleRules.Occurrences(expression, market.Zone, now).Take(count),
                ScheduleTypes.Interval => Enumerable.Range(1, count).Select(i => now.AddSeconds((double)ScheduleRules.IntervalSeconds(expression) * i)),
                _ => [ScheduleRules.OnceAtUtc(expression, market.Zone)],
            };
            var local = times.Select(utc => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToOffset(market.Zone.GetUtcOffset(utc))).ToList();
            return ValueTask.FromResult(new Result(market.ZoneId, local));
        }
    }

    internal static async Task<Ok<Envelope<Result>>> Endpoint(Command command, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Result>.Success(await mediator.Send(command, ct)));
}
