namespace AkshareWeb.Tests.Architecture;

/// <summary>
/// Common holds plumbing every area uses (the envelope and its errors, paging, the databases and fail-over, locks,
/// the market's clock, who calls, metrics, key storage), never a domain's rules: parameters have their own area,
/// tables' shared words are Warehouse's. A type added to Common needs a deliberate line here, where it is seen.
/// </summary>
public sealed class CommonIsPlumbingTests
{
    private static readonly string[] Plumbing =
    [
        "AkshareMetrics", "ApiError", "BackgroundLoop", "Caller", "ClientAddress", "ClusterNodes", "Database",
        "DatabaseXmlRepository", "EndpointConventions", "Envelope", "ErrorCodes", "ErrorEnvelope", "Failover", "FieldError",
        "FieldProblems", "JsonNames", "KeyRingDecryptor", "KeyRingEncryptor", "KeyRingOptions", "KeyRingProtection", "Like",
        "MarketTime", "MarketTimeOptions", "MarketTimeSetup", "PageParameters", "PageRequest", "PageRequestValidator", "Paged",
        "PagingRules", "RateLimitOptions", "Roles", "SchemaMigrator", "ServerLockName", "TokenClaims", "UnicodeText", "UserLock",
        "ValidationBehavior", "WarehouseDatabase", "WarehouseReading",
    ];

    [Fact]
    public void Common_declares_only_the_listed_plumbing()
    {
        const string Prefix = "AkshareWeb.Features.Common.";
        var declared = SourceCode.Files
            .Where(f => f.Path.StartsWith("src/AkshareWeb.Features/Common/", StringComparison.Ordinal))
            .SelectMany(f => f.TopLevelTypes().Select(t => t.Name))
            .Select(n => n.StartsWith(Prefix, StringComparison.Ordinal) ? n[Prefix.Length..] : n)
            .ToHashSet(StringComparer.Ordinal);
        var added = declared.Except(Plumbing, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Assert.True(added.Count == 0, "Types in Common that are not on its list (move domain code to its area; add plumbing to the list): " + string.Join(", ", added));
        var gone = Plumbing.Except(declared, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Assert.True(gone.Count == 0, "Types on Common's list that it no longer declares (remove them from the list): " + string.Join(", ", gone));
    }
}
