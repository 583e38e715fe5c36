namespace AkshareWeb.Features.Common;

/// <summary>
/// The problems of one request, of which only the first <see cref="Listed"/> are kept and answered, with a count
/// of the rest: a body of many bad values must not become an answer (nor a list in memory) many times its size.
/// </summary>
public sealed class FieldProblems
{
    public const int Listed = 20;
    private readonly List<FieldError> kept = [];

    public int Count { get; private set; }

    public void Add(FieldError problem)
    {
        if (kept.Count < Listed) kept.Add(problem);
        Count++;
    }

    public void AddRange(IEnumerable<FieldError> problems)
    {
        foreach (var problem in problems) Add(problem);
    }

    public bool All(Func<FieldError, bool> predicate) => kept.All(predicate);

    /// <summary>The answer's <c>detail</c>: the listed problems, then one saying how many more there were.</summary>
    public IReadOnlyList<FieldError> Detail(string field) => Count <= Listed
        ? kept
        : [.. kept, new FieldError(field, $"{Count - Listed} more problems are not listed (only the first {Listed} are)")];
}
