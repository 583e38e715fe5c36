namespace AkshareWeb.Features.Executions;

/// <summary>
/// What a run asks about its data script as it starts: whether the last registry import found it broken (its
/// interface or a parameter it passes gone), in which case it fails with the reason instead of calling AKTools.
/// Scripts answers: it uses Executions, so Executions asks through this rather than reading Scripts' table.
/// </summary>
public interface IScriptHealth
{
    /// <summary>Why the script cannot run; null when it can (or is unknown).</summary>
    Task<string?> BrokenReasonAsync(string scriptId, CancellationToken ct);
}

/// <summary>For a host that runs executions without the script library (the benchmarks): no script is known to be
/// broken. Scripts registers its own answer over it.</summary>
internal sealed class NoScriptHealth : IScriptHealth
{
    public Task<string?> BrokenReasonAsync(string scriptId, CancellationToken ct) => Task.FromResult<string?>(null);
}
