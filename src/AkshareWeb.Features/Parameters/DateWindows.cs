using System.Globalization;
using AkshareWeb.Features.Common;

namespace AkshareWeb.Features.Parameters;

/// <summary>A request's date window, checked when it is made rather than found empty when the run ends.</summary>
public static class DateWindows
{
    /// <summary>
    /// A date parameter start… whose end… partner (start_date and end_date, start and end) holds an earlier date: one
    /// error naming both. Dates that do not read as yyyyMMdd or yyyy-MM-dd (or the parameter's format) are left alone.
    /// </summary>
    public static IEnumerable<FieldError> Reversed(IReadOnlyList<ParameterDefinition> definitions, IReadOnlyDictionary<string, string> bound, string prefix)
    {
        foreach (var start in definitions.Where(d => d.Name.StartsWith("start", StringComparison.Ordinal)))
        {
            var endName = "end" + start.Name["start".Length..];
            if (definitions.FirstOrDefault(d => d.Name == endName) is not { } end || (start.Type != "date" && end.Type != "date")) continue;
            if (!bound.TryGetValue(start.Name, out var from) || !bound.TryGetValue(endName, out var to)) continue;
            if (AsDate(from, start.Format) is { } first && AsDate(to, end.Format) is { } last && first > last)
            {
                yield return new FieldError($"{prefix}.{start.Name}", $"{start.Name} {from} is after {endName} {to}: the window would hold no day");
            }
        }

        static DateOnly? AsDate(string text, string? format)
        {
            foreach (var accepted in new[] { format ?? "yyyyMMdd", "yyyyMMdd", "yyyy-MM-dd" })
            {
                if (DateOnly.TryParseExact(text, accepted, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)) return day;
            }

            return null;
        }
    }
}
