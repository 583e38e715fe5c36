namespace AkshareWeb.Features.Parameters;

/// <summary>
/// One parameter of an AKShare function, as a data script or the catalogue defines it. <c>type</c> is string,
/// int, float, bool or date; a date has the <c>format</c> the function expects (AKShare mostly yyyyMMdd) and its
/// default may be relative (<see cref="RelativeDates"/>). A data script's parameter also says what its value does to
/// the rows: <c>Role</c> key (null means key: the value changes what a row means) or range (it only narrows which
/// rows come back), and <c>Column</c>, the output column that carries a key parameter's value in every row.
/// </summary>
public sealed record ParameterDefinition(
    string Name, string Type, bool Required, string? DefaultValue, string? Description, string? Format = null, IReadOnlyList<string>? Allowed = null,
    string? Role = null, string? Column = null);

public static class ParameterTypes
{
    public static readonly string[] All = ["string", "int", "float", "bool", "date"];
}
