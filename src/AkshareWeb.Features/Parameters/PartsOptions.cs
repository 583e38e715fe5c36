namespace AkshareWeb.Features.Parameters;

/// <summary>Where parameter sources are accepted, how many parts a run may have at most.</summary>
public sealed class PartsOptions
{
    public const string Section = "Parts";

    /// <summary>The cross product of list parameters above this is a 422 (a table source: the run fails).</summary>
    public int MaxParts { get; set; } = 20_000;

    /// <summary>Parts a run takes at once when its task does not say.</summary>
    public int DefaultConcurrency { get; set; } = 4;
}
