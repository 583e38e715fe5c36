using System.Text.Json;
using System.Text.Json.Serialization;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Parameters;

/// <summary>
/// A parameter given as a source of values instead of one value: <c>{"values": [...]}</c> (one part per value),
/// <c>{"from_table": t, "column": c, "filter": {...}}</c> (one part per distinct value, read when the run starts; a
/// filter is <c>{"列": value}</c> or <c>{"列": {"gte": value, ...}}</c> with <see cref="FilterOperators"/>) or,
/// for a date, <c>{"since_last": column, "overlap_days": n}</c> (each part from its own last stored date). A
/// since_last source also carries, fixed with the plan, the date's format and default, every key parameter that tells
/// a part's rows apart (<c>Keys</c>) and the column holding each one's value (<c>Match</c>: parameter name to column). A
/// key without a column stays in <c>Keys</c> only, and the part refuses to run: its last date would be another value's.
/// <c>Parts</c> is made by the service, never given: the parts themselves, each with the values it sets (a backfill's
/// key values and missing range), one part each.
/// </summary>
public sealed record ValueSource(
    IReadOnlyList<string>? Values = null,
    string? FromTable = null,
    string? Column = null,
    IReadOnlyDictionary<string, JsonElement>? Filter = null,
    string? SinceLast = null,
    int OverlapDays = 0,
    string? Format = null,
    string? Default = null,
    IReadOnlyDictionary<string, string>? Match = null,
    IReadOnlyList<string>? Keys = null,
    IReadOnlyList<IReadOnlyDictionary<string, string>>? Parts = null)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A source that makes parts (a list or a table); since_last only shapes each part's dates.</summary>
    [JsonIgnore]
    public bool MakesParts => Values is not null || FromTable is not null || Parts is not null;

    /// <summary>The filter's conditions: a single value is equality, an object one condition per operator. The shapes
    /// were checked when the source was bound.</summary>
    public IEnumerable<(string Column, string Operator, string Value)> Conditions()
    {
        foreach (var (column, condition) in Filter ?? new Dictionary<string, JsonElement>())
        {
            if (condition.ValueKind != JsonValueKind.Object)
            {
                yield return (column, FilterOperators.Equal, Text(condition));
                continue;
            }

            foreach (var op in condition.EnumerateObject()) yield return (column, op.Name, Text(op.Value));
        }
    }

    /// <summary>A filter's value as text: a string as it is, a number or true/false as JSON writes it.</summary>
    public static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    public static string Serialize(IReadOnlyDictionary<string, ValueSource> sources) => JsonSerializer.Serialize(sources, Json);

    public static IReadOnlyDictionary<string, ValueSource> Deserialize(string? json) =>
        json is null ? new Dictionary<string, ValueSource>() : JsonSerializer.Deserialize<Dictionary<string, ValueSource>>(json, Json) ?? [];
}
