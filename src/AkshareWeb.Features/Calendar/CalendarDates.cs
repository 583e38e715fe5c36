using System.Globalization;
using FluentValidation;

namespace AkshareWeb.Features.Calendar;

/// <summary>Days in query strings: YYYY-MM-DD, checked by the validator so a bad one is a 422 naming its parameter.</summary>
public static class CalendarDates
{
    public const string Format = "yyyy-MM-dd";

    public static DateOnly? Parse(string? text) =>
        text is not null && DateOnly.TryParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : null;

    /// <summary><paramref name="from"/> and <paramref name="to"/>: each absent or a day, and from not after to.</summary>
    public static void RuleForRange<T>(this AbstractValidator<T> validator,
        System.Linq.Expressions.Expression<Func<T, string?>> from, System.Linq.Expressions.Expression<Func<T, string?>> to)
    {
        validator.RuleFor(from).Must(t => t is null || Parse(t) is not null).WithMessage("from must be a day written YYYY-MM-DD").OverridePropertyName("from");
        validator.RuleFor(to).Must(t => t is null || Parse(t) is not null).WithMessage("to must be a day written YYYY-MM-DD").OverridePropertyName("to");
        var (readFrom, readTo) = (from.Compile(), to.Compile());
        validator.RuleFor(to).Must((query, _) => !(Parse(readFrom(query)) is { } f && Parse(readTo(query)) is { } t && f > t))
            .WithMessage("to must not be before from").OverridePropertyName("to");
    }
}
